package signsession_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/render"
	"vanban/internal/signsession"
	"vanban/internal/store/pgtest"
	"vanban/signing"
	"vanban/signing/pades"
)

// coverEnv is an env whose drafts are the LibreOffice Decree 30 template,
// with the layout proposed on upload and covers checked against the page.
func coverEnv(t *testing.T) (*env, *signsession.Service, *signsession.Proposer) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	tmpl, err := os.ReadFile(filepath.Join("..", "..", "testdata", "decree30", "quyet-dinh-ubnd.pdf"))
	e.must(err)
	e.pdf = tmpl
	eng := render.New(render.Options{CacheDir: filepath.Join(os.TempDir(), "vanban-render-test-wazero")})
	t.Cleanup(eng.Close)
	p := &signsession.Proposer{Engine: eng, Blobs: e.blobs}
	e.wf.Proposer = p
	svc := signsession.New(e.db, e.wf, e.blobs, map[string]signing.Provider{"mobile": e.mobile(), "seal": e.seal()},
		signsession.Options{PollInterval: 100 * time.Millisecond, TickInterval: 50 * time.Millisecond, LeaseTTL: 250 * time.Millisecond, Covers: p})
	return e, svc, p
}

// TestCoverOverBodyTextRefused: the number or date field, painted white,
// may lie only over the template's own number and date lines or blank
// paper; over a body line (the attack: the issued PDF would lack a
// sentence the reviewer approved) the layout is refused.
func TestCoverOverBodyTextRefused(t *testing.T) {
	e, svc, p := coverEnv(t)
	d := e.awaiting(e.signer, "Quyết định về quy chế")
	l, err := svc.Layout(ctx, as(e.drafter), d.ID)
	e.must(err)
	if !l.Proposed || !l.Cover {
		t.Fatalf("proposed %+v", l)
	}
	// "Điều 1. Ban hành kèm theo ..." is at y 553..567 on page 1.
	body := pades.Rect{LLX: 80, LLY: 550, URX: 540, URY: 568}
	for _, field := range []string{"number", "date"} {
		bad := l
		if field == "number" {
			bad.Number = body
		} else {
			bad.Date = body
		}
		err := svc.SetLayout(ctx, as(e.drafter), d.ID, bad)
		wantCode(t, err, document.EINVALID)
		t.Logf("%s over a body line: %v", field, err)
	}
	// Without cover the same rectangle is allowed: nothing is hidden.
	uncovered := l
	uncovered.Cover, uncovered.Date = false, body
	// ... but it is a change after review: the document goes back.
	e.must(svc.SetLayout(ctx, as(e.drafter), d.ID, uncovered))
	if st := e.doc(d.ID).Document.State; st != document.StateDraft {
		t.Errorf("a layout changed after review left the document %s, want draft", st)
	}
	// Blank paper may be covered (below the signature block).
	blank := l
	blank.Date = pades.Rect{LLX: 300, LLY: 150, URX: 540, URY: 170}
	e.must(svc.SetLayout(ctx, as(e.drafter), d.ID, blank))
	// The proposal itself passes the check.
	e.must(svc.SetLayout(ctx, as(e.drafter), d.ID, l))

	// Something drawn but not text (a rule, a scanned line) counts too.
	pdf := []byte(minimalPDF("0 0 0 rg 100 600 300 2 re f"))
	ruled := signsession.DefaultLayout()
	ruled.Cover, ruled.Number = true, pades.Rect{LLX: 90, LLY: 590, URX: 420, URY: 610}
	err = p.CheckCovers(context.Background(), "u", pdf, ruled)
	wantCode(t, err, document.EINVALID)
	ruled.Number = pades.Rect{LLX: 90, LLY: 300, URX: 420, URY: 320}
	ruled.Date = pades.Rect{LLX: 90, LLY: 330, URX: 420, URY: 350}
	e.must(p.CheckCovers(context.Background(), "u", pdf, ruled))
}

// TestLayoutChangeDuringReviewReturnsTheDraft: a changed layout while the
// reviewer has it sends it back to the drafter (the pending review step is
// returned with the reason); accepting the proposal as it is, to the tenth
// of a point the layout form shows, changes nothing.
func TestLayoutChangeDuringReviewReturnsTheDraft(t *testing.T) {
	e, svc, _ := coverEnv(t)
	obj := e.awaiting(e.signer, "Quyết định thử") // approved: awaiting signature
	_, err := e.wf.Return(ctx, as(e.signer), obj.ID, "sửa lại")
	e.must(err)
	_, err = e.wf.SubmitForReview(ctx, as(e.drafter), obj.ID, []string{e.reviewer.ID})
	e.must(err)
	l, err := svc.Layout(ctx, as(e.drafter), obj.ID)
	e.must(err)
	// The drafter accepts the proposal as the form shows it: what the
	// reviewer sees does not change, so the review goes on.
	shown := l
	shown.Signature.LLX, shown.Number.URY = math.Round(l.Signature.LLX*10)/10, math.Round(l.Number.URY*10)/10
	e.must(svc.SetLayout(ctx, as(e.drafter), obj.ID, shown))
	e.must(svc.SetLayout(ctx, as(e.drafter), obj.ID, l)) // the same again
	if st := e.doc(obj.ID).Document.State; st != document.StateInReview {
		t.Fatalf("accepting the proposal unchanged moved the document to %s", st)
	}
	moved := l
	moved.Signature.LLY -= 10
	e.must(svc.SetLayout(ctx, as(e.drafter), obj.ID, moved))
	v := e.doc(obj.ID)
	if v.Document.State != document.StateDraft {
		t.Fatalf("changed during review: %s, want draft", v.Document.State)
	}
}

// minimalPDF is one A4 page with the given content.
func minimalPDF(content string) string {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
	}
	out := "%PDF-1.7\n"
	var offs []int
	for i, o := range objs {
		offs = append(offs, len(out))
		out += fmt.Sprintf("%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := len(out)
	out += fmt.Sprintf("xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		out += fmt.Sprintf("%010d 00000 n \n", o)
	}
	return out + fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
}

// reapprove submits a draft returned by a layout change again and has the
// reviewer approve it: awaiting signature once more.
func (e *env) reapprove(id string) {
	e.t.Helper()
	_, err := e.wf.SubmitForReview(ctx, as(e.drafter), id, []string{e.reviewer.ID})
	e.must(err)
	_, err = e.wf.Approve(ctx, as(e.reviewer), id, "")
	e.must(err)
}
