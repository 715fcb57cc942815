package signsession_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing"
	"vanban/signing/mssp"
	"vanban/signing/signtest"
	"vanban/signing/verify"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
func hexOf(b []byte) string          { return hex.EncodeToString(b) }

// TestApproveNumberSeal is the document's life: the leader approves on the
// SIM, the clerk numbers and dates it, the clerk seals it; both signatures
// verify and the fill is a permitted change.
func TestApproveNumberSeal(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		d := e.awaiting(e.signer, "Về việc tổ chức Tết Nguyên đán Bính Ngọ")

		s, err := e.svc.StartLeader(ctx, as(e.signer), d.ID)
		e.must(err)
		if s.State != store.SigningPending || len(s.VerificationCode) != 4 || s.DisplayText == "" || s.ExpiresAt.IsZero() {
			t.Fatalf("started %+v", s)
		}
		if got := e.doc(d.ID).Document.State; got != document.StateSigning {
			t.Fatalf("document %s while signing", got)
		}
		list, err := e.svc.ListForSigner(ctx, as(e.signer))
		e.must(err)
		if len(list) != 1 || list[0].VerificationCode != s.VerificationCode {
			t.Fatalf("signer's list %+v", list)
		}
		s = e.settle(e.svc, s.ID, e.signer)
		if s.State != store.SigningCompleted || s.ResultVersionID == "" {
			t.Fatalf("settled %+v", s)
		}
		v := e.doc(d.ID)
		if v.Document.State != document.StateSigned || countKind(v.Versions, document.VersionLeaderSigned) != 1 {
			t.Fatalf("after signing: %s, versions %d", v.Document.State, len(v.Versions))
		}

		_, err = e.svc.NumberAndDate(ctx, as(e.drafter), d.ID)
		wantCode(t, err, document.EFORBIDDEN)
		numbered, err := e.svc.NumberAndDate(ctx, as(e.clerk), d.ID)
		e.must(err)
		if numbered.Symbol != "01/QĐ-UBND" || numbered.State != document.StateNumbered {
			t.Fatalf("numbered %q %s", numbered.Symbol, numbered.State)
		}
		// A retry changes nothing.
		again, err := e.svc.NumberAndDate(ctx, as(e.clerk), d.ID)
		e.must(err)
		if again.Number != numbered.Number || countKind(e.doc(d.ID).Versions, document.VersionNumbered) != 1 {
			t.Fatalf("retry renumbered or refilled")
		}

		_, err = e.svc.Seal(ctx, as(e.signer), d.ID)
		wantCode(t, err, document.EFORBIDDEN)
		sealed, err := e.svc.Seal(ctx, as(e.clerk), d.ID)
		e.must(err)
		if sealed.State != store.SigningCompleted || sealed.Purpose != store.PurposeSeal {
			t.Fatalf("seal session %+v", sealed)
		}
		v = e.doc(d.ID)
		last := v.Versions[len(v.Versions)-1]
		if v.Document.State != document.StateSealed || last.Kind != document.VersionSealed || last.ID != sealed.ResultVersionID {
			t.Fatalf("after seal: %s, last version %s", v.Document.State, last.Kind)
		}

		// The final PDF, checked by our validator and by poppler.
		f, err := e.blobs.Open(ctx, last.BlobKey)
		e.must(err)
		defer f.Close()
		rep, err := verify.Verify(ctx, f, f.Size(), verify.Options{Roots: e.roots})
		e.must(err)
		if len(rep.Signatures) != 2 || rep.DocMDP != 2 {
			t.Fatalf("report: %d signatures, DocMDP %d", len(rep.Signatures), rep.DocMDP)
		}
		leader, seal := rep.Signatures[0], rep.Signatures[1]
		if leader.Field != signsession.FieldLeader || !leader.Certification || seal.Field != signsession.FieldSeal {
			t.Errorf("fields %q (certification %v), %q", leader.Field, leader.Certification, seal.Field)
		}
		for _, sr := range rep.Signatures {
			if sr.Indication != verify.TotalPassed {
				t.Errorf("%s: %s/%s %v", sr.Field, sr.Indication, sr.SubIndication, sr.Errors)
			}
		}
		if !slices.Contains(leader.Modifications.Categories, verify.ModFormFill) || !leader.Modifications.Permitted {
			t.Errorf("changes after the leader signed: %+v", leader.Modifications)
		}
		path := filepath.Join(t.TempDir(), "sealed.pdf")
		data, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
		e.must(err)
		checkSealLocks(t, ctx, data, verify.Options{Roots: e.roots})
		e.must(os.WriteFile(path, data, 0o600))
		var signed []signtest.PDFSigResult
		for _, r := range signtest.PDFSig(t, path, e.trust...) {
			if len(r.Ranges) > 0 {
				signed = append(signed, r)
			}
		}
		if len(signed) != 2 || !signed[0].SignatureValid() || !signed[1].SignatureValid() || !signed[1].TotalDocumentSigned {
			t.Errorf("pdfsig: %+v", signed)
		}
		// The number, the date line and the signature block are on the
		// pages, widget appearances included (mutool draws them).
		mutool := signtest.RequireTool(t, "mutool")
		text, err := exec.Command(mutool, "draw", "-q", "-F", "txt", "-o", "-", path).CombinedOutput()
		e.must(err)
		for _, want := range []string{"Số: 01/QĐ-UBND", document.PlaceDate("Thành Long", numbered.NumberedAt), "CHỦ TỊCH", e.signer.FullName, e.org.Name} {
			if !strings.Contains(string(text), want) {
				t.Errorf("the sealed PDF does not show %q", want)
			}
		}
	})
}

// failing starts a session for a scenario phone and lets it settle.
func (e *env) failing(scenario mssp.Scenario) (*document.Document, *signsession.Session) {
	e.t.Helper()
	e.setPhone(e.signer, mssp.ScenarioMSISDN(scenario, false))
	d := e.awaiting(e.signer, "Kịch bản "+scenario.String())
	s, err := e.svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	if s.State.Active() {
		s = e.settle(e.svc, s.ID, e.signer)
	}
	return d, s
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	cases := []struct {
		scenario mssp.Scenario
		state    store.SigningState
		kind     string
		retry    bool
	}{
		{mssp.ScenarioDecline, store.SigningFailed, "declined", false},
		{mssp.ScenarioTimeout, store.SigningExpired, "expired", false},
		{mssp.ScenarioBusy, store.SigningFailed, "busy", true},
		{mssp.ScenarioNoCertificate, store.SigningFailed, "no_certificate", false},
		// The SIM signs with another key or over other data: fail closed.
		{mssp.ScenarioWrongKey, store.SigningFailed, "bad_signature", false},
		{mssp.ScenarioOtherDigest, store.SigningFailed, "bad_signature", false},
	}
	for _, c := range cases {
		t.Run(c.scenario.String(), func(t *testing.T) {
			d, s := e.failing(c.scenario)
			if s.State != c.state || s.FailureKind != c.kind || s.Retryable != c.retry || s.FailureMessage == "" {
				t.Fatalf("session %+v", s)
			}
			v := e.doc(d.ID)
			if v.Document.State != document.StateAwaitingSignature || len(v.Versions) != 1 {
				t.Fatalf("document %s with %d versions", v.Document.State, len(v.Versions))
			}
			steps, err := e.wf.Timeline(ctx, as(e.admin), d.ID)
			e.must(err)
			lastStep := steps[len(steps)-1]
			if lastStep.Action != string(document.ActionSigningFailed) || !strings.Contains(lastStep.Comment, c.kind) {
				t.Errorf("last step %+v", lastStep)
			}
		})
	}
}

// TestExpiry: nobody answers an ordinary number; our clock passes the
// expiry and the worker expires the session.
func TestExpiry(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	e.setPhone(e.signer, "84912345670")
	d := e.awaiting(e.signer, "Không ai trả lời")
	s, err := e.svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	e.must(e.svc.RunOnce(ctx))
	if got, _ := e.svc.Get(ctx, as(e.signer), s.ID); got.State != store.SigningPending {
		t.Fatalf("before expiry %s", got.State)
	}
	e.svc.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	s = e.settle(e.svc, s.ID, e.signer)
	if s.State != store.SigningExpired || s.FailureKind != "expired" {
		t.Fatalf("expired session %+v", s)
	}
	if got := e.doc(d.ID).Document.State; got != document.StateAwaitingSignature {
		t.Fatalf("document %s", got)
	}
}

// forger returns a "signed" result whose signature is over other data,
// as a compromised or buggy provider might: our own check must catch it.
type forger struct {
	signing.Provider
}

func (f forger) Poll(ctx context.Context, txID string, wait time.Duration) (*signing.Result, error) {
	r, err := f.Provider.Poll(ctx, txID, wait)
	if err == nil && r.Status == signing.StatusSigned {
		r.Signature = slices.Clone(r.Signature)
		r.Signature[len(r.Signature)/2] ^= 0x40
	}
	return r, err
}

func TestForgedSignatureFailsClosed(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	svc := e.service(forger{e.mobile()})
	d := e.awaiting(e.signer, "Chữ ký giả")
	s, err := svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	s = e.settle(svc, s.ID, e.signer)
	if s.State != store.SigningFailed || s.FailureKind != "bad_signature" || s.ResultVersionID != "" {
		t.Fatalf("session %+v", s)
	}
	v := e.doc(d.ID)
	if len(v.Versions) != 1 || v.Document.State != document.StateAwaitingSignature {
		t.Fatalf("a forged signature changed the document: %s, %d versions", v.Document.State, len(v.Versions))
	}
}

// TestOneActive: one active session per document and per signer, and
// only the assigned signer with a signing identity starts one.
func TestOneActive(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.setPhone(e.signer, "84912345670") // waits for the phone
		d1 := e.awaiting(e.signer, "Một")
		d2 := e.awaiting(e.signer, "Hai")
		_, err := e.svc.StartLeader(ctx, as(e.signer2), d1.ID)
		wantCode(t, err, document.EFORBIDDEN)
		_, err = e.svc.StartLeader(ctx, as(e.clerk), d1.ID)
		wantCode(t, err, document.EINVALID) // no signing identity
		s1, err := e.svc.StartLeader(ctx, as(e.signer), d1.ID)
		e.must(err)
		_, err = e.svc.StartLeader(ctx, as(e.signer), d1.ID)
		wantCode(t, err, document.ECONFLICT)
		_, err = e.svc.StartLeader(ctx, as(e.signer), d2.ID)
		wantCode(t, err, document.ECONFLICT)
		if got := e.doc(d2.ID).Document.State; got != document.StateAwaitingSignature {
			t.Fatalf("refused start left document 2 %s", got)
		}
		_, err = e.svc.Cancel(ctx, as(e.signer), s1.ID)
		e.must(err)
		_, err = e.svc.StartLeader(ctx, as(e.signer), d2.ID)
		e.must(err)
	})
}

func TestCancel(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	e.setPhone(e.signer, "84912345670")
	d := e.awaiting(e.signer, "Hủy yêu cầu")
	s, err := e.svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	_, err = e.svc.Get(ctx, as(e.signer2), s.ID)
	wantCode(t, err, document.ENOTFOUND)
	_, err = e.svc.Cancel(ctx, as(e.clerk), s.ID)
	wantCode(t, err, document.ENOTFOUND)
	if got, err := e.svc.Get(ctx, as(e.admin), s.ID); err != nil || got.VerificationCode != s.VerificationCode {
		t.Fatalf("admin view %+v, %v", got, err)
	}
	got, err := e.svc.Cancel(ctx, as(e.signer), s.ID)
	e.must(err)
	if got.State != store.SigningCancelled || got.FailureKind != "cancelled" {
		t.Fatalf("cancelled %+v", got)
	}
	_, err = e.svc.Cancel(ctx, as(e.signer), s.ID)
	wantCode(t, err, document.ECONFLICT)
	if st := e.doc(d.ID).Document.State; st != document.StateAwaitingSignature {
		t.Fatalf("document %s", st)
	}
	list, err := e.svc.ListForSigner(ctx, as(e.signer))
	e.must(err)
	if len(list) != 0 {
		t.Fatalf("cancelled session still listed")
	}
}

// TestBatch: three documents, one request at a time on the phone, each
// with its own verification code.
func TestBatch(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		// Three different files: the same file prepared in the same
		// second would give the same digest, hence the same code.
		var ids []string
		for i, name := range []string{"libreoffice-writer.pdf", "chromium.pdf", "ghostscript.pdf"} {
			e.pdf = readCorpus(t, name)
			ids = append(ids, e.awaiting(e.signer, "Lô "+string(rune('A'+i))).ID)
		}
		_, err := e.svc.StartBatch(ctx, as(e.signer), []string{ids[0], ids[0]})
		wantCode(t, err, document.EINVALID)
		ss, err := e.svc.StartBatch(ctx, as(e.signer), ids)
		e.must(err)
		codes := map[string]bool{}
		for i, s := range ss {
			codes[s.VerificationCode] = true
			if s.BatchID != ss[0].BatchID || s.BatchSeq != i+1 || len(s.VerificationCode) != 4 {
				t.Fatalf("batch session %d: %+v", i, s)
			}
		}
		if len(codes) != 3 {
			t.Errorf("verification codes not distinct: %v", codes)
		}
		if ss[0].State != store.SigningPending || ss[1].State != store.SigningQueued || ss[2].State != store.SigningQueued {
			t.Fatalf("states %s %s %s", ss[0].State, ss[1].State, ss[2].State)
		}
		// Never two requests on the phone at once, and in order.
		var order []string
		deadline := time.Now().Add(30 * time.Second)
		for len(order) < 3 && time.Now().Before(deadline) {
			e.must(e.svc.RunOnce(ctx))
			list, err := e.svc.ListForSigner(ctx, as(e.signer))
			e.must(err)
			onPhone := 0
			for _, s := range list {
				if s.State != store.SigningQueued {
					onPhone++
				}
			}
			if onPhone > 1 {
				t.Fatalf("%d requests on the phone at once", onPhone)
			}
			for _, s := range ss {
				got, err := e.svc.Get(ctx, as(e.signer), s.ID)
				e.must(err)
				if got.State == store.SigningCompleted && !slices.Contains(order, got.ID) {
					order = append(order, got.ID)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(order) != 3 || order[0] != ss[0].ID || order[1] != ss[1].ID || order[2] != ss[2].ID {
			t.Fatalf("completion order %v", order)
		}
		for _, id := range ids {
			if st := e.doc(id).Document.State; st != document.StateSigned {
				t.Errorf("document %s", st)
			}
		}
	})
}

// TestDuplicateCompletion: two replicas finish the same pending session at
// once, and a callback arrives twice: one version, one transition.
func TestDuplicateCompletion(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		d := e.awaiting(e.signer, "Hai bản sao")
		a, b := e.service(nil), e.service(nil)
		s, err := a.StartLeader(ctx, as(e.signer), d.ID)
		e.must(err)
		time.Sleep(400 * time.Millisecond) // the scenario phone has answered
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i, svc := range []*signsession.Service{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = svc.RunOnce(ctx)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			e.must(err)
		}
		s = e.settle(a, s.ID, e.signer)
		v := e.doc(d.ID)
		if s.State != store.SigningCompleted || countKind(v.Versions, document.VersionLeaderSigned) != 1 || v.Document.State != document.StateSigned {
			t.Fatalf("session %s, %d signed versions, document %s", s.State, countKind(v.Versions, document.VersionLeaderSigned), v.Document.State)
		}
		steps, err := e.wf.Timeline(ctx, as(e.admin), d.ID)
		e.must(err)
		n := 0
		for _, st := range steps {
			if st.Action == string(document.ActionSign) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d sign steps", n)
		}
	})
}

// TestRestart: the process dies after the request reached the MSSP but
// before the answer was recorded, and again while the request is pending;
// new Service instances over the same database finish the job, reusing the
// session id as the idempotency key.
func TestRestart(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		d := e.awaiting(e.signer, "Khởi động lại")
		dying := e.service(lostAnswer{e.mobile()})
		s, err := dying.StartLeader(ctx, as(e.signer), d.ID)
		e.must(err)
		if s.State != store.SigningPreparing {
			t.Fatalf("after a lost answer: %+v", s)
		}
		// A new process: the session is resumed when its retry is due.
		restarted := e.service(nil)
		time.Sleep(300 * time.Millisecond) // the retry's backoff
		e.must(restarted.RunOnce(ctx))
		got, err := restarted.Get(ctx, as(e.signer), s.ID)
		e.must(err)
		if got.State != store.SigningPending && got.State != store.SigningCompleted {
			t.Fatalf("resumed session %s (%s)", got.State, got.FailureMessage)
		}
		// Another restart while pending: yet another process completes it.
		final := e.settle(e.service(nil), s.ID, e.signer)
		v := e.doc(d.ID)
		if final.State != store.SigningCompleted || countKind(v.Versions, document.VersionLeaderSigned) != 1 {
			t.Fatalf("final %+v, %d signed versions", final, countKind(v.Versions, document.VersionLeaderSigned))
		}
	})
}

// lostAnswer delivers the request to the MSSP and then loses the answer,
// as when the process dies during the call.
type lostAnswer struct{ signing.Provider }

func (l lostAnswer) Start(ctx context.Context, req signing.Request) (*signing.Session, error) {
	if _, err := l.Provider.Start(ctx, req); err != nil {
		return nil, err
	}
	return nil, context.DeadlineExceeded
}

// TestCallback: a provider that notifies by callback; a duplicate
// callback changes nothing.
func TestCallback(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	cb := &callbacks{Provider: e.mobile()}
	svc := e.service(cb)
	d := e.awaiting(e.signer, "Gọi lại")
	s, err := svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	sess, err := e.db.SigningSession(ctx, s.ID)
	e.must(err)
	time.Sleep(400 * time.Millisecond)
	req := httptestRequest(sess.ProviderTxID, "secret")
	for range 2 {
		got, err := svc.HandleCallback(ctx, "mobile", req())
		e.must(err)
		if got.State != store.SigningCompleted {
			t.Fatalf("after callback %+v", got)
		}
	}
	_, err = svc.HandleCallback(ctx, "mobile", httptestRequest(sess.ProviderTxID, "wrong")())
	wantCode(t, err, document.EFORBIDDEN)
	_, err = svc.HandleCallback(ctx, "seal", req())
	wantCode(t, err, document.ENOTFOUND)
	if n := countKind(e.doc(d.ID).Versions, document.VersionLeaderSigned); n != 1 {
		t.Fatalf("%d signed versions", n)
	}
}
