// Command hybrid writes a small two-page hybrid-reference PDF to stdout (ISO 32000-1, 7.5.8.4):
// a classic xref table whose trailer has /XRefStm pointing at a cross-reference stream that lists
// the objects kept in an object stream. Word 2007-era producers wrote such files; no Debian tool
// does, so the corpus gets one from this generator. Objects 7 (the font) and 8 (the document
// information) live only in the object stream: a reader that ignores /XRefStm cannot find them,
// which is exactly what a signer appending to this file must not get wrong.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
)

func main() {
	if err := write(); err != nil {
		fmt.Fprintln(os.Stderr, "hybrid:", err)
		os.Exit(1)
	}
}

func write() error {
	w := bufio.NewWriter(os.Stdout)
	var off int
	offsets := make(map[int]int)
	put := func(s string) {
		n, _ := w.WriteString(s)
		off += n
	}
	obj := func(num int, body string) {
		offsets[num] = off
		put(fmt.Sprintf("%d 0 obj\n%s\nendobj\n", num, body))
	}
	stream := func(num int, dict string, data []byte) {
		offsets[num] = off
		put(fmt.Sprintf("%d 0 obj\n<< %s /Length %d >>\nstream\n", num, dict, len(data)))
		put(string(data))
		put("\nendstream\nendobj\n")
	}

	put("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	obj(2, "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>")
	for i, page := range []int{3, 4} {
		obj(page, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "+
			"/Resources << /Font << /F1 7 0 R >> >> /Contents %d 0 R >>", 5+i))
	}
	for i, text := range []string{"Hybrid-reference test file, page 1", "Page 2: objects 7 and 8 are in an object stream"} {
		content := fmt.Sprintf("BT /F1 18 Tf 72 760 Td (%s) Tj ET", text)
		stream(5+i, "", []byte(content))
	}

	// Object stream 9 holds objects 7 and 8. Its header lists "objnum offset" pairs relative to
	// /First.
	members := []string{
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Producer (vanban testdata/gen/hybrid) /Title (Hybrid reference test) >>",
	}
	var header, body bytes.Buffer
	for i, m := range members {
		fmt.Fprintf(&header, "%d %d ", 7+i, body.Len())
		body.WriteString(m)
		body.WriteString("\n")
	}
	stream(9, fmt.Sprintf("/Type /ObjStm /N %d /First %d", len(members), header.Len()),
		append(header.Bytes(), body.Bytes()...))

	// Cross-reference stream 10 covers only objects 7 and 8 (type 2 entries: object stream 9,
	// index within it). /W [1 2 1]: type, object stream number, index.
	xrefData := []byte{2, 0, 9, 0, 2, 0, 9, 1}
	stream(10, "/Type /XRef /Size 11 /Index [7 2] /W [1 2 1]", xrefData)

	xrefOff := off
	// The table leaves objects 7 and 8 out (two subsections, 0-6 and 9-10): a table entry, even a
	// free one, would take precedence over the /XRefStm entry in common readers, so hybrid
	// writers omit compressed objects from the table.
	put("xref\n0 7\n0000000000 65535 f\r\n")
	for num := 1; num <= 6; num++ {
		put(fmt.Sprintf("%010d 00000 n\r\n", offsets[num]))
	}
	put("9 2\n")
	for num := 9; num <= 10; num++ {
		put(fmt.Sprintf("%010d 00000 n\r\n", offsets[num]))
	}
	put(fmt.Sprintf("trailer\n<< /Size 11 /Root 1 0 R /Info 8 0 R /XRefStm %d "+
		"/ID [<7661 6e62 616e 6879 6272 6964 0001 0203> <76616e62616e687962726964 00010203>] >>\n", offsets[10]))
	put(fmt.Sprintf("startxref\n%d\n%%%%EOF\n", xrefOff))
	return w.Flush()
}
