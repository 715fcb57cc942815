// Command largepdf writes a large valid PDF to stdout with signtest.GenerateLargePDF, for signing
// benchmarks outside go test (for example ItextSign --bench):
//
//	go run ./testdata/gen/largepdf -pages 50000 -bytes-per-page 5000 > /tmp/big.pdf
package main

import (
	"flag"
	"fmt"
	"os"

	"vanban/signing/signtest"
)

func main() {
	pages := flag.Int("pages", 50000, "number of pages")
	perPage := flag.Int("bytes-per-page", 5000, "content stream bytes per page")
	flag.Parse()
	if err := signtest.GenerateLargePDF(os.Stdout, *pages, *perPage); err != nil {
		fmt.Fprintln(os.Stderr, "largepdf:", err)
		os.Exit(1)
	}
}
