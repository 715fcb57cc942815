package signsession_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"vanban/internal/signsession"
	"vanban/signing/pdf"
	"vanban/signing/signtest"
	"vanban/signing/verify"
)

// fieldObject returns the object number and raw "N G obj ... endobj"
// bytes of the form field named name.
func fieldObject(t *testing.T, data []byte, name string) (uint32, []byte) {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	af, err := r.AcroForm()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range af.Fields {
		ref, ok := f.(pdf.Ref)
		d, err := r.ResolveDict(f)
		if !ok || err != nil || d == nil {
			continue
		}
		if tt, _ := d.Get("T").(pdf.String); tt.Text() != name {
			continue
		}
		loc, ok := r.Location(ref.Num)
		if !ok || loc.Stream != 0 {
			t.Fatalf("field %s is not a plain object", name)
		}
		raw := data[loc.Offset:]
		end := bytes.Index(raw, []byte("endobj"))
		return ref.Num, raw[:end+len("endobj")]
	}
	t.Fatalf("no field %s", name)
	return 0, nil
}

// handEditedNumber changes the number field's /V in an incremental
// update written byte by byte (not by our writer): the object copied
// with a new value, a classic xref table and a trailer with /Prev.
func handEditedNumber(t *testing.T, data []byte, value string) []byte {
	t.Helper()
	num, raw := fieldObject(t, data, signsession.FieldNumber)
	re := regexp.MustCompile(`/V\s*(<[0-9A-Fa-f\s]*>|\((?:[^()\\]|\\.)*\))`)
	if !re.Match(raw) {
		t.Fatalf("no /V in %s", raw)
	}
	edited := re.ReplaceAllLiteral(raw, []byte("/V ("+value+")"))
	r, err := pdf.Open(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.Write(data)
	if !bytes.HasSuffix(data, []byte("\n")) {
		out.WriteByte('\n')
	}
	off := out.Len()
	out.Write(edited)
	out.WriteString("\n")
	x := out.Len()
	fmt.Fprintf(&out, "xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n",
		num, off, r.Size(), r.Root().Num, r.XRefOffset(), x)
	return out.Bytes()
}

// checkSealLocks: the seal's field carries /Lock /All (qpdf shows it) and
// its signature the FieldMDP transform; a number changed after the seal
// by another writer is reported as a change to a locked field.
func checkSealLocks(t *testing.T, ctx context.Context, data []byte, opts verify.Options) {
	t.Helper()
	num, _ := fieldObject(t, data, signsession.FieldSeal)
	dir := t.TempDir()
	sealed := filepath.Join(dir, "sealed.pdf")
	if err := os.WriteFile(sealed, data, 0o600); err != nil {
		t.Fatal(err)
	}
	qpdf := signtest.RequireTool(t, "qpdf")
	field, err := exec.Command(qpdf, fmt.Sprintf("--show-object=%d", num), sealed).CombinedOutput()
	if err != nil {
		t.Fatalf("qpdf: %v %s", err, field)
	}
	if !regexp.MustCompile(`/Lock << (/Type /SigFieldLock )?/Action /All`).Match(field) && !bytes.Contains(field, []byte("/Action /All")) {
		t.Fatalf("qpdf --show-object=%d: no /Lock /All: %s", num, field)
	}
	sigNum := regexp.MustCompile(`/V (\d+) 0 R`).FindSubmatch(field)
	if sigNum == nil {
		t.Fatalf("seal field has no /V: %s", field)
	}
	sig, err := exec.Command(qpdf, "--show-object="+string(sigNum[1]), sealed).CombinedOutput()
	if err != nil || !bytes.Contains(sig, []byte("/TransformMethod /FieldMDP")) {
		t.Fatalf("seal signature has no FieldMDP /Reference: %v %s", err, sig)
	}

	forged := handEditedNumber(t, data, "99/QD-UBND")
	forgedPath := filepath.Join(dir, "forged.pdf")
	if err := os.WriteFile(forgedPath, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qpdf, "--check", forgedPath).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check on the hand-built update: %v %s", err, out)
	}
	rep, err := verify.Verify(ctx, bytes.NewReader(forged), int64(len(forged)), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 2 {
		t.Fatalf("%d signatures", len(rep.Signatures))
	}
	seal := rep.Signatures[1]
	if seal.Modifications.Permitted || seal.Indication != verify.TotalFailed || seal.SubIndication != verify.SigConstraintsFailure {
		t.Fatalf("seal after the number changed: %s/%s %+v", seal.Indication, seal.SubIndication, seal.Modifications)
	}
	var flagged bool
	for _, ch := range seal.Modifications.Objects {
		if ch.Object == fmt.Sprintf("%d 0 R", mustFieldNum(t, data)) && !ch.Permitted && strings.Contains(ch.Reason, "locked by signature") {
			flagged = true
		}
	}
	if !flagged {
		t.Fatalf("the number field is not reported as a locked field: %+v", seal.Modifications.Objects)
	}
	// The leader's certification (P=2) lets the fill through, but the
	// seal locked the field: the leader's report says so too.
	if rep.Signatures[0].Modifications.Permitted {
		t.Fatalf("leader after the number changed: %+v", rep.Signatures[0].Modifications)
	}
}

func mustFieldNum(t *testing.T, data []byte) uint32 {
	num, _ := fieldObject(t, data, signsession.FieldNumber)
	return num
}
