package pades

import (
	"bytes"
	"context"
	"testing"

	"vanban/signing/signtest"
)

// benchCorpus are the corpus files timed side by side with iText 5
// (testdata/gen/java/ItextSign.java --bench): one per producer family,
// both xref kinds, an object-stream file, a linearized one and one that is
// already signed.
var benchCorpus = []string{
	"libreoffice-writer.pdf",
	"chromium.pdf",
	"ghostscript.pdf",
	"pdftex.pdf",
	"qpdf-objstm.pdf",
	"qpdf-linearized.pdf",
	"itext-signed.pdf",
}

// BenchmarkSignCorpus signs corpus files in memory the way ItextSign
// --bench does: RSA-2048 key from the test PKI, SHA-256,
// ETSI.CAdES.detached, invisible, B-B, input and output in memory.
func BenchmarkSignCorpus(b *testing.B) {
	s := loadTestSigner(b)
	for _, name := range benchCorpus {
		in := readFile(b, signtest.CorpusFileNamed(b, name).Path)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				if err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, s.key, s.chain, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
