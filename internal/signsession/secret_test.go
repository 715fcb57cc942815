package signsession_test

import (
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
	"vanban/storage"
)

// The probe: administrators read "Ký: <subject>" of secret signing
// sessions. An administrator who may not open the document sees the
// session without the text sent to the phone; the signer sees it.
func TestSecretSessionHidesSubjectFromAdmin(t *testing.T) {
	e := newEnv(t, pgtest.Open(t, pgtest.SQLiteURL(t)))
	e.setPhone(e.signer, "84912345670")
	obj, err := e.blobs.PutContentAddressed(ctx, bytesReader(e.pdf), storage.PutOptions{ContentType: "application/pdf"})
	e.must(err)
	const subject = "Kế hoạch phòng thủ TUYỆT-MẬT-X"
	d, err := e.wf.CreateDraft(ctx, as(e.drafter), workflow.DraftInput{UnitID: e.office.ID, TypeCode: document.TypeQuyetDinh,
		Subject: subject, Confidentiality: document.ConfidentialityTop, File: workflow.File{BlobKey: obj.Key, SHA256: hexOf(obj.SHA256), Size: obj.Size}})
	e.must(err)
	_, err = e.wf.AssignSigner(ctx, as(e.drafter), d.ID, e.signer.ID)
	e.must(err)
	_, err = e.wf.SubmitForReview(ctx, as(e.drafter), d.ID, []string{e.reviewer.ID})
	e.must(err)
	_, err = e.wf.Approve(ctx, as(e.reviewer), d.ID, "")
	e.must(err)
	s, err := e.svc.StartLeader(ctx, as(e.signer), d.ID)
	e.must(err)
	if !strings.Contains(s.DisplayText, "TUYỆT-MẬT-X") {
		t.Fatalf("the signer's session shows %q", s.DisplayText)
	}
	got, err := e.svc.Get(ctx, as(e.admin), s.ID)
	e.must(err)
	if strings.Contains(got.DisplayText, "TUYỆT-MẬT-X") || got.DisplayText != "" {
		t.Errorf("the administrator sees the secret session's text %q", got.DisplayText)
	}
	if got.State != s.State || got.VerificationCode != s.VerificationCode {
		t.Errorf("the administrator's view lost the session's state: %+v", got)
	}
	cancelled, err := e.svc.Cancel(ctx, as(e.admin), s.ID)
	e.must(err)
	if cancelled.DisplayText != "" {
		t.Errorf("the administrator's cancel answer shows %q", cancelled.DisplayText)
	}
	mine, err := e.svc.Get(ctx, as(e.signer), s.ID)
	e.must(err)
	if !strings.Contains(mine.DisplayText, "TUYỆT-MẬT-X") {
		t.Errorf("the signer lost the text: %q", mine.DisplayText)
	}
}
