package pdf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlaceholders plays the two-phase signer: write once with placeholders,
// patch /ByteRange, hash around /Contents, patch /Contents in place.
func TestPlaceholders(t *testing.T) {
	inputs := []fixture{{name: "table", data: basePDF(2)}}
	if ok, _ := lookQpdf(); ok {
		inputs = append(inputs,
			fixture{name: "xref-stream", data: qpdf(t, basePDF(2), "--object-streams=generate")},
			fixture{name: "aes-256", data: qpdf(t, basePDF(2), "--encrypt", "", "owner", "256", "--"), encrypted: true},
			fixture{name: "rc4-128", data: qpdf(t, basePDF(2), "--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--"), encrypted: true},
		)
	}
	for _, f := range inputs {
		t.Run(f.name, func(t *testing.T) {
			r := openBytes(t, f.data)
			u := NewUpdate(r)
			sig := NewDict(
				DictEntry{"Type", Name("Sig")},
				DictEntry{"Filter", Name("Adobe.PPKLite")},
				DictEntry{"SubFilter", Name("ETSI.CAdES.detached")},
				DictEntry{"ByteRange", ByteRangePlaceholder("br")},
				DictEntry{"Contents", ContentsPlaceholder("sig", 512)},
				DictEntry{"Reason", TextString("Phê duyệt")},
			)
			sigRef := u.Add(sig)
			path := filepath.Join(t.TempDir(), "prepared.pdf")
			fh, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			res, err := u.Write(fh)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := os.ReadFile(path)
			cs, bs := res.Placeholders["sig"], res.Placeholders["br"]
			if got := string(out[cs.Offset:cs.End()]); got != "<"+strings.Repeat("0", 1024)+">" {
				t.Fatalf("contents placeholder at %v holds %.20q", cs, got)
			}
			if got := string(out[bs.Offset:bs.End()]); got != "[0 ********** ********** **********]" {
				t.Fatalf("byte range placeholder holds %q", got)
			}
			br, err := res.ByteRange("sig")
			if err != nil {
				t.Fatal(err)
			}
			if br != [4]int64{0, cs.Offset, cs.End(), res.Size - cs.End()} {
				t.Fatalf("byte range %v", br)
			}
			if err := PatchByteRange(fh, bs, br); err != nil {
				t.Fatal(err)
			}
			// Hash input is everything but the <...> of /Contents.
			out, _ = os.ReadFile(path)
			covered := append(append([]byte{}, out[:br[1]]...), out[br[2]:]...)
			if int64(len(covered)) != br[1]+br[3] || !bytes.HasPrefix(covered, f.data) {
				t.Fatal("byte ranges do not cover the original")
			}
			cms := make([]byte, 300)
			rand.Read(cms)
			if err := PatchHexString(fh, cs, cms); err != nil {
				t.Fatal(err)
			}
			out, _ = os.ReadFile(path)
			if !bytes.Equal(covered, append(append([]byte{}, out[:br[1]]...), out[br[2]:]...)) {
				t.Fatal("patching /Contents changed bytes outside the gap")
			}

			r2 := openBytes(t, out)
			sd, err := r2.ResolveDict(sigRef)
			if err != nil {
				t.Fatal(err)
			}
			gotBR, _ := sd.Get("ByteRange").(Array)
			if fmt.Sprint(gotBR) != fmt.Sprint(Array{Integer(br[0]), Integer(br[1]), Integer(br[2]), Integer(br[3])}) {
				t.Errorf("ByteRange read back %v, want %v", gotBR, br)
			}
			c, _ := sd.Get("Contents").(String)
			if !bytes.Equal(c.Value[:len(cms)], cms) || len(c.Value) != 512 {
				t.Errorf("Contents read back wrong (len %d)", len(c.Value))
			}
			if reason, _ := sd.Get("Reason").(String); reason.Text() != "Phê duyệt" {
				t.Errorf("Reason read back %q", reason.Text())
			}
			if f.encrypted {
				// The placeholder was written in clear; the other strings not.
				raw := out[res.Objects[sigRef]:res.Size]
				if bytes.Contains(raw, []byte("Phê")) || bytes.Contains(raw, TextString("Phê duyệt").Value) {
					t.Error("/Reason written unencrypted")
				}
			}
			if ok, _ := lookQpdf(); ok {
				if code, msg := qpdfCheck(t, path); code != 0 {
					t.Errorf("qpdf --check exit %d\n%s", code, msg)
				}
				show, err := exec.Command("qpdf", "--password=", fmt.Sprintf("--show-object=%d", sigRef.Num), path).CombinedOutput()
				if err != nil || !bytes.Contains(bytes.ToLower(show), []byte(fmt.Sprintf("%x", cms[:16]))) {
					t.Errorf("qpdf does not see the signature bytes: %v\n%.300s", err, show)
				}
			}
		})
	}
}

func TestPatchErrors(t *testing.T) {
	var wa writerAtBuf
	if err := PatchHexString(&wa, Span{Offset: 0, Length: 10}, make([]byte, 5)); !errors.Is(err, ErrPlaceholder) {
		t.Errorf("oversized contents: %v", err)
	}
	if err := PatchByteRange(&wa, Span{Offset: 0, Length: 12}, [4]int64{0, 1000, 2000, 3000}); !errors.Is(err, ErrPlaceholder) {
		t.Errorf("oversized byte range: %v", err)
	}
	b, err := FormatByteRange([4]int64{0, 1, 2, 3}, ByteRangeWidth)
	if err != nil || string(b) != "[0 1 2 3]"+strings.Repeat(" ", ByteRangeWidth-9) {
		t.Errorf("FormatByteRange = %q, %v", b, err)
	}
	res := &WriteResult{Placeholders: map[string]Span{}}
	if _, err := res.ByteRange("nope"); !errors.Is(err, ErrPlaceholder) {
		t.Errorf("unknown placeholder: %v", err)
	}
}

type writerAtBuf struct{ b []byte }

func (w *writerAtBuf) WriteAt(p []byte, off int64) (int, error) {
	if need := int(off) + len(p); need > len(w.b) {
		w.b = append(w.b, make([]byte, need-len(w.b))...)
	}
	return copy(w.b[off:], p), nil
}

func TestUpdateErrors(t *testing.T) {
	r := openBytes(t, basePDF(1))
	u := NewUpdate(r)
	if err := u.Replace(Ref{Num: 5000}, Null{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replace unknown: %v", err)
	}
	if err := u.Replace(Ref{Num: 1, Gen: 3}, Null{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replace wrong generation: %v", err)
	}
	ref := u.Add(nil)
	if _, err := u.Write(&bytes.Buffer{}); !errors.Is(err, ErrInvalidObject) {
		t.Errorf("unset reservation: %v", err)
	}
	if err := u.Replace(ref, Integer(1)); err != nil {
		t.Fatal(err)
	}
	if ref.Num != r.MaxObjectNumber()+1 {
		t.Errorf("new object %v, highest existing %d", ref, r.MaxObjectNumber())
	}
	u.Add(NewDict(DictEntry{"Twice", Array{ContentsPlaceholder("x", 1), ContentsPlaceholder("x", 1)}}))
	if _, err := u.Write(&bytes.Buffer{}); !errors.Is(err, ErrInvalidObject) {
		t.Errorf("duplicate placeholder: %v", err)
	}
}

// TestChainedUpdates appends several updates (table and stream files) and
// checks each revision boundary and the object numbering.
func TestChainedUpdates(t *testing.T) {
	inputs := [][]byte{basePDF(2)}
	if ok, _ := lookQpdf(); ok {
		inputs = append(inputs, qpdf(t, basePDF(2), "--object-streams=generate", "--linearize"))
	}
	for _, data := range inputs {
		var ends []int64
		for i := 0; i < 3; i++ {
			r := openBytes(t, data)
			u := NewUpdate(r)
			ref := u.Add(NewDict(DictEntry{"N", Integer(i)}))
			info := NewDict(DictEntry{"Producer", TextString(fmt.Sprintf("update %d", i))})
			if iref, ok := r.Info(); ok {
				if err := u.Replace(iref, info); err != nil {
					t.Fatal(err)
				}
			}
			var buf bytes.Buffer
			if _, err := u.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(buf.Bytes(), data) {
				t.Fatal("not a prefix")
			}
			data = buf.Bytes()
			ends = append(ends, int64(len(data)))
			r2 := openBytes(t, data)
			o, err := r2.Resolve(ref)
			if err != nil || o.(*Dict).Get("N") != Integer(i) {
				t.Fatalf("update %d: %v %v", i, o, err)
			}
			revs, err := r2.Revisions()
			if err != nil {
				t.Fatal(err)
			}
			if len(revs) < len(ends) || fmt.Sprint(revs[len(revs)-len(ends):]) != fmt.Sprint(ends) {
				t.Errorf("revisions %v, want suffix %v", revs, ends)
			}
		}
	}
}

func TestUserPassword(t *testing.T) {
	if ok, _ := lookQpdf(); !ok {
		t.Skip("qpdf not installed")
	}
	for _, args := range [][]string{
		{"--encrypt", "geheim", "owner", "256", "--"},
		{"--encrypt", "geheim", "owner", "256", "--force-R5", "--"},
		{"--encrypt", "geheim", "owner", "128", "--use-aes=y", "--"},
		{"--allow-weak-crypto", "--encrypt", "geheim", "owner", "40", "--"},
	} {
		data := qpdf(t, basePDF(1), args...)
		_, err := Open(bytes.NewReader(data), int64(len(data)), nil)
		if !errors.Is(err, ErrUserPasswordRequired) {
			t.Errorf("%v: err = %v, want ErrUserPasswordRequired", args, err)
		}
		r, err := Open(bytes.NewReader(data), int64(len(data)), &ReadOptions{Password: []byte("geheim")})
		if err != nil {
			t.Fatalf("%v with password: %v", args, err)
		}
		info, err := r.ResolveDict(r.Trailer().Get("Info"))
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := info.Get("Producer").(String); string(p.Value) != "vanban test (base)" {
			t.Errorf("%v: Producer decrypted as %q", args, p.Value)
		}
	}
}

func TestPermissions(t *testing.T) {
	r := openBytes(t, basePDF(1))
	if _, ok := r.Permissions(); ok || r.Version() != "1.7" {
		t.Errorf("plain file: permissions reported, version %q", r.Version())
	}
	if ok, _ := lookQpdf(); !ok {
		t.Skip("qpdf not installed")
	}
	data := qpdf(t, basePDF(1), "--encrypt", "", "owner", "256", "--annotate=n", "--form=n", "--")
	p, ok := openBytes(t, data).Permissions()
	if !ok || p&PermFillForm != 0 || p&PermAnnotate != 0 || p&PermPrint == 0 {
		t.Errorf("permissions %b (ok %v): want print, no annotate, no form", p, ok)
	}
	data = qpdf(t, basePDF(1), "--encrypt", "", "owner", "128", "--use-aes=y", "--")
	if p, ok := openBytes(t, data).Permissions(); !ok || p&PermFillForm == 0 {
		t.Errorf("permissions %b: want all", p)
	}
}

func TestObjectNumberExhaustion(t *testing.T) {
	b := &pdfBuilder{}
	b.set(1, "<< /Type /Catalog /Pages 2 0 R >>")
	b.set(2, "<< /Type /Pages /Kids [] /Count 0 >>")
	b.trailer = "/Root 1 0 R"
	data := bytes.Replace(b.bytes(), []byte("/Size 3"), []byte("/Size 2147483647"), 1)
	r := openBytes(t, data)
	u := NewUpdate(r)
	if ref := u.Add(Null{}); !ref.IsZero() {
		t.Errorf("Add returned %v beyond the number space", ref)
	}
	if _, err := u.Write(&bytes.Buffer{}); !errors.Is(err, ErrLimit) {
		t.Errorf("Write err = %v, want ErrLimit", err)
	}
}
