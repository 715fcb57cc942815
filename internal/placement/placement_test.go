package placement

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"vanban/internal/render"
)

var (
	engOnce sync.Once
	eng     *render.Engine
)

// pagesOf extracts the text of every page of a testdata PDF with PDFium.
func pagesOf(t *testing.T, name string) []*render.PageText {
	t.Helper()
	engOnce.Do(func() {
		eng = render.New(render.Options{CacheDir: filepath.Join(os.TempDir(), "vanban-render-test-wazero")})
	})
	pdf, err := os.ReadFile(filepath.Join("..", "..", "testdata", "decree30", name))
	if err != nil {
		t.Fatal(err)
	}
	var pages []*render.PageText
	err = eng.Open(context.Background(), "test", pdf, func(d *render.Document) error {
		for i := 1; i <= d.PageCount(); i++ {
			pt, err := d.Text(i)
			if err != nil {
				return err
			}
			pages = append(pages, pt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// bboxWord is a word as pdftotext -bbox (poppler) places it: an oracle
// independent of PDFium. Its y grows downwards from the top of the page.
type bboxWord struct {
	Text string  `xml:",chardata"`
	XMin float64 `xml:"xMin,attr"`
	YMin float64 `xml:"yMin,attr"`
	XMax float64 `xml:"xMax,attr"`
	YMax float64 `xml:"yMax,attr"`
}

// popplerWords returns each page's words with boxes in PDF points (origin
// lower left, like ours).
func popplerWords(t *testing.T, name string) [][]bboxWord {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("VANBAN_REQUIRE_SERVICES") != "" {
			t.Fatal("pdftotext (poppler-utils) is missing")
		}
		t.Skip("pdftotext (poppler-utils) is missing")
	}
	out, err := exec.Command("pdftotext", "-bbox", filepath.Join("..", "..", "testdata", "decree30", name), "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Pages []struct {
			Height float64    `xml:"height,attr"`
			Words  []bboxWord `xml:"word"`
		} `xml:"body>doc>page"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	var pages [][]bboxWord
	for _, p := range doc.Pages {
		var ws []bboxWord
		for _, w := range p.Words {
			w.YMin, w.YMax = p.Height-w.YMax, p.Height-w.YMin
			// LibreOffice places accented letters apart, and poppler
			// then cuts "Số:" into "S", "ố", ":": join touching words.
			if n := len(ws); n > 0 && ws[n-1].YMin == w.YMin && w.XMin-ws[n-1].XMax < 1 && w.XMin >= ws[n-1].XMin {
				ws[n-1].Text += w.Text
				ws[n-1].XMax = w.XMax
				continue
			}
			ws = append(ws, w)
		}
		pages = append(pages, ws)
	}
	return pages
}

// word finds the n-th (0-based) word with the given text.
func word(t *testing.T, ws []bboxWord, text string, n int) bboxWord {
	t.Helper()
	for _, w := range ws {
		if w.Text == text || (strings.HasPrefix(text, "/") && strings.HasSuffix(w.Text, text)) {
			if n == 0 {
				return w
			}
			n--
		}
	}
	t.Fatalf("poppler finds no word %q", text)
	return bboxWord{}
}

// contains reports whether box r holds the word's middle, with the word's
// baseline band inside r's height.
func contains(r Rect, w bboxWord) bool {
	mx, my := (w.XMin+w.XMax)/2, (w.YMin+w.YMax)/2
	return r.LLX <= mx && mx <= r.URX && r.LLY-3 <= my && my <= r.URY+3
}

func TestProposeDecree30Templates(t *testing.T) {
	for _, tc := range []struct {
		file, capacity, position, name, nameWord string
		attachments                              []int
	}{
		{"quyet-dinh-ubnd.pdf", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Văn An", "An", nil},
		{"quyet-dinh-phu-luc.pdf", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Trần Thị Bình", "Bình", []int{2}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := Propose(pagesOf(t, tc.file))
			words := popplerWords(t, tc.file)
			if p.Number == nil || p.Date == nil || p.Block == nil {
				t.Fatalf("found number %v, date %v, block %v", p.Number != nil, p.Date != nil, p.Block != nil)
			}
			// The number line holds poppler's "Số:" and "/QĐ-UBND",
			// with one blank placeholder between them.
			for _, w := range []string{"Số:", "/QĐ-UBND"} {
				if !contains(p.Number.Box, word(t, words[0], w, 0)) {
					t.Errorf("number box %+v misses %q at %+v", p.Number.Box, w, word(t, words[0], w, 0))
				}
			}
			if len(p.Number.Placeholders) != 1 {
				t.Errorf("number placeholders %+v, want 1", p.Number.Placeholders)
			} else if ph := p.Number.Placeholders[0]; ph.LLX < word(t, words[0], "Số:", 0).XMax-1 || ph.URX > word(t, words[0], "/QĐ-UBND", 0).XMax-55 {
				t.Errorf("number placeholder %+v is not between Số: and the symbol", ph)
			}
			// The date line: place, ngày, tháng, năm 2026 (the first
			// "ngày" of the page, in the header), two placeholders,
			// italic, on the number's baseline band.
			for _, w := range []string{"Thành", "ngày", "tháng", "2026"} {
				if !contains(p.Date.Box, word(t, words[0], w, 0)) {
					t.Errorf("date box %+v misses %q", p.Date.Box, w)
				}
			}
			if len(p.Date.Placeholders) != 2 || !p.Date.Italic {
				t.Errorf("date placeholders %+v italic %v", p.Date.Placeholders, p.Date.Italic)
			}
			if p.Number.Align != AlignCenter || p.Date.Align != AlignCenter || p.Number.FontSize != 13 {
				t.Errorf("number %s %g, date %s", p.Number.Align, p.Number.FontSize, p.Date.Align)
			}
			b := p.Block
			if b.Page != 1 || b.Capacity == nil || b.Position == nil || b.Name == nil {
				t.Fatalf("block %+v", b)
			}
			if b.Capacity.Text != tc.capacity || b.Position.Text != tc.position || b.Name.Text != tc.name {
				t.Errorf("block lines %q / %q / %q", b.Capacity.Text, b.Position.Text, b.Name.Text)
			}
			capWord := word(t, words[0], tc.capacity[:3], 0)
			if !contains(b.Capacity.Box, capWord) || !contains(b.Name.Box, word(t, words[0], tc.nameWord, 0)) {
				t.Errorf("capacity %+v name %+v do not hold poppler's words", b.Capacity.Box, b.Name.Box)
			}
			// The gap lies between the position and the name, is
			// at least three lines high and spans the block.
			if b.Gap.URY > b.Position.Box.LLY || b.Gap.LLY < b.Name.Box.URY || b.Gap.Height() < 39 {
				t.Errorf("gap %+v between position %+v and name %+v", b.Gap, b.Position.Box, b.Name.Box)
			}
			if b.Gap.LLX > b.Capacity.Box.LLX || b.Gap.URX < b.Capacity.Box.URX || b.Gap.LLX < p.Pages[0][0]/2-20 {
				t.Errorf("gap %+v does not span the block's column", b.Gap)
			}
			// Nothing of the page is printed in the gap.
			for _, w := range words[0] {
				if contains(b.Gap, w) && (w.YMax-w.YMin) > 4 {
					t.Errorf("poppler finds %q in the gap", w.Text)
				}
			}
			if len(p.Attachments) != len(tc.attachments) || (len(tc.attachments) > 0 && p.Attachments[0] != tc.attachments[0]) {
				t.Errorf("attachments %v, want %v", p.Attachments, tc.attachments)
			}
		})
	}
}
