package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestPagesInheritance(t *testing.T) {
	r := openBytes(t, basePDF(7))
	n, err := r.NumPages()
	if err != nil || n != 7 {
		t.Fatalf("NumPages = %d, %v", n, err)
	}
	p1, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Ref != (Ref{Num: 100}) || p1.MediaBox != (Rect{0, 0, 595, 842}) || p1.CropBox != p1.MediaBox || p1.Rotate != 0 {
		t.Errorf("page 1: %+v", p1)
	}
	res, ok := p1.Resources.(*Dict)
	if !ok || !res.Has("Font") {
		t.Errorf("page 1 resources not inherited: %#v", p1.Resources)
	}
	p7, err := r.Page(7)
	if err != nil {
		t.Fatal(err)
	}
	if p7.Ref != (Ref{Num: 112}) || p7.MediaBox != (Rect{0, 0, 842, 595}) || p7.Rotate != 90 {
		t.Errorf("page 7: %+v", p7)
	}
	for _, bad := range []int{0, -1, 8} {
		if _, err := r.Page(bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("Page(%d) err = %v", bad, err)
		}
	}
}

func TestAcroForm(t *testing.T) {
	r := openBytes(t, basePDF(2))
	af, err := r.AcroForm()
	if err != nil {
		t.Fatal(err)
	}
	if af.Ref != (Ref{Num: 7}) || af.FieldsRef != (Ref{Num: 8}) || len(af.Fields) != 1 || af.Fields[0] != (Ref{Num: 9}) {
		t.Errorf("AcroForm %+v", af)
	}
	if da, _ := af.Dict.Get("DA").(String); string(da.Value) != "/Helv 0 Tf 0 g" {
		t.Errorf("/DA %q", da.Value)
	}
	b := &pdfBuilder{}
	b.set(1, "<< /Type /Catalog /Pages 2 0 R >>")
	b.set(2, "<< /Type /Pages /Kids [] /Count 0 >>")
	b.trailer = "/Root 1 0 R"
	if _, err := openBytes(t, b.bytes()).AcroForm(); !errors.Is(err, ErrNotFound) {
		t.Errorf("no AcroForm: %v", err)
	}
	b.set(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [3 0 R] >> >>")
	af, err = openBytes(t, b.bytes()).AcroForm()
	if err != nil || !af.Ref.IsZero() || !af.FieldsRef.IsZero() || len(af.Fields) != 1 {
		t.Errorf("direct AcroForm %+v, %v", af, err)
	}
}

func TestFlatAndBrokenPageTrees(t *testing.T) {
	var kids []string
	b := &pdfBuilder{}
	for i := 0; i < 300; i++ {
		kids = append(kids, fmt.Sprintf("%d 0 R", 10+i))
		b.set(10+i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d 100] /Rotate -90 >>", 100+i))
	}
	b.set(1, "<< /Type /Catalog /Pages 2 0 R >>")
	b.set(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count 300 >>", strings.Join(kids, " ")))
	b.trailer = "/Root 1 0 R"
	r := openBytes(t, b.bytes())
	p, err := r.Page(250)
	if err != nil || p.Ref.Num != 259 || p.MediaBox[2] != 349 || p.Rotate != 270 {
		t.Fatalf("flat tree page 250: %+v, %v", p, err)
	}

	loop := &pdfBuilder{}
	loop.set(1, "<< /Type /Catalog /Pages 2 0 R >>")
	loop.set(2, "<< /Type /Pages /Kids [3 0 R] /Count 5 >>")
	loop.set(3, "<< /Type /Pages /Kids [2 0 R] /Count 5 >>")
	loop.trailer = "/Root 1 0 R"
	if _, err := openBytes(t, loop.bytes()).Page(1); !errors.Is(err, ErrLimit) {
		t.Errorf("looping page tree: %v", err)
	}
}

// TestConcurrentReads resolves objects of an object-stream file from several
// goroutines (run with -race).
func TestConcurrentReads(t *testing.T) {
	if ok, _ := lookQpdf(); !ok {
		t.Skip("qpdf not installed")
	}
	data := qpdf(t, basePDF(20), "--object-streams=generate", "--encrypt", "", "o", "256", "--")
	r, err := Open(bytes.NewReader(data), int64(len(data)), &ReadOptions{ObjStmCacheSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ref := range r.Objects() {
				o, err := r.Resolve(ref)
				if err != nil {
					errs <- err
					return
				}
				if s, ok := o.(*Stream); ok {
					if _, err := s.Decoded(0); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
