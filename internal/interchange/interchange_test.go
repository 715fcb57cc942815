package interchange_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"vanban/exchange"
	"vanban/exchange/edxml"
	"vanban/exchange/hub"
	"vanban/exchange/hubclient"
	"vanban/internal/document"
	"vanban/internal/interchange"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/internal/workflow"
	"vanban/signing/verify"
	"vanban/storage"
	"vanban/storage/local"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The store and the workflow satisfy the interfaces the service declares.
var (
	_ interchange.DB[*store.Tx] = (*store.DB)(nil)
	_ interchange.Incoming      = (*workflow.Service[*store.Tx])(nil)
)

const (
	organA = "000.00.01.H40"
	organB = "000.00.02.H40"
	organC = "000.00.03.H40"
)

var ctx = context.Background()

type party struct {
	org                                     *document.Organization
	unit                                    *document.Unit
	admin, drafter, reviewer, signer, clerk *document.User
	handler                                 *document.User
}

type world struct {
	t       *testing.T
	db      *store.DB
	blobs   storage.Store
	wf      *workflow.Service[*store.Tx]
	svc     *interchange.Service[*store.Tx]
	tr      *injecting
	a, b, c *party
	sealed  workflow.File // a real PAdES-signed PDF in the blob store
}

// injecting is the hub transport with extra messages slipped into the
// received lists, to feed the receiver what no hub would carry.
type injecting struct {
	exchange.Transport
	extra map[string][]byte // id -> bytes, listed for organ B
}

func (t *injecting) Received(ctx context.Context, organ string) ([]exchange.Received, error) {
	list, err := t.Transport.Received(ctx, organ)
	if organ == organB {
		for id := range t.extra {
			list = append(list, exchange.Received{ID: id, Kind: exchange.KindPackage, From: organA, To: organB})
		}
	}
	return list, err
}

func (t *injecting) Fetch(ctx context.Context, organ, id string) (io.ReadCloser, error) {
	if b, ok := t.extra[id]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	return t.Transport.Fetch(ctx, organ, id)
}

func (t *injecting) Ack(ctx context.Context, organ, id string) error {
	if _, ok := t.extra[id]; ok {
		delete(t.extra, id)
		return nil
	}
	return t.Transport.Ack(ctx, organ, id)
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func newWorld(t *testing.T, db *store.DB) *world {
	w := &world{t: t, db: db}
	blobs, err := local.New(t.TempDir(), local.Options{})
	w.must(err)
	w.blobs = blobs
	cal, _ := document.NewCalendar(nil)
	w.wf = workflow.New[*store.Tx](db, cal)

	h, err := hub.Open(hub.Config{Dir: t.TempDir(), Systems: []hub.System{{ID: "vanban", Secret: "s", Organs: []string{"*"}}},
		Agencies: []exchange.Agency{{OrganId: organA, Name: "UBND xã A"}, {OrganId: organB, Name: "UBND xã B"}, {OrganId: organC, Name: "UBND xã C"}}})
	w.must(err)
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); h.Close() })
	w.tr = &injecting{Transport: hubclient.New(srv.URL, "vanban", "s", nil), extra: map[string][]byte{}}

	roots := x509.NewCertPool()
	pemBytes, err := os.ReadFile("../../testdata/corpus/pki/ca.pem")
	w.must(err)
	blk, _ := pem.Decode(pemBytes)
	ca, err := x509.ParseCertificate(blk.Bytes)
	w.must(err)
	roots.AddCert(ca)
	w.svc = interchange.New[*store.Tx](db, interchange.Options{
		Transport: w.tr, Blobs: blobs, Incoming: w.wf, TempDir: t.TempDir(),
		Verify: func(ctx context.Context, key string) (string, []byte, error) {
			f, err := blobs.Open(ctx, key)
			if err != nil {
				return "", nil, err
			}
			defer f.Close()
			rep, err := verify.Verify(ctx, f, f.Size(), verify.Options{Roots: roots})
			if err != nil {
				return "", nil, err
			}
			b, _ := json.Marshal(rep)
			ind := "NO-SIGNATURE"
			for i, s := range rep.Signatures {
				if i == 0 || s.Indication != verify.TotalPassed {
					ind = string(s.Indication)
				}
			}
			return ind, b, nil
		},
		SaveReport: func(ctx context.Context, docID string, seq int, ind string, rep []byte) error {
			return db.SaveVerification(ctx, &store.VerificationRecord{DocumentID: docID, VersionSeq: seq, Indication: ind, ReportJSON: rep})
		},
		Attachments: db.Attachments,
	})
	w.a = w.party("A", organA)
	w.b = w.party("B", organB)
	w.c = w.party("C", organC)

	pdf, err := os.ReadFile("../../testdata/corpus/itext-signed.pdf")
	w.must(err)
	obj, err := blobs.PutContentAddressed(ctx, bytes.NewReader(pdf), storage.PutOptions{ContentType: "application/pdf"})
	w.must(err)
	w.sealed = workflow.File{BlobKey: obj.Key, SHA256: hexs(obj.SHA256), Size: obj.Size}
	return w
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, len(b)*2)
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

func (w *world) party(name, organ string) *party {
	p := &party{org: &document.Organization{Abbrev: "UBND" + name, Name: "UBND xã " + name, Place: "Xã " + name}}
	w.must(w.db.CreateOrganization(ctx, p.org))
	p.unit = &document.Unit{ParentID: p.org.ID, Abbrev: "VP", Name: "Văn phòng " + name}
	w.must(w.db.CreateUnit(ctx, p.unit))
	user := func(n, unit string, role document.Role) *document.User {
		u := &document.User{OrgID: p.org.ID, Username: n + "." + name + "." + p.org.ID[:6], FullName: n + " " + name, Title: "Chức vụ " + n}
		w.must(w.db.CreateUser(ctx, u))
		w.must(w.db.GrantRole(ctx, u.ID, unit, role))
		return u
	}
	p.admin = user("admin", p.org.ID, document.RoleAdmin)
	p.drafter = user("drafter", p.unit.ID, document.RoleDrafter)
	p.reviewer = user("reviewer", p.org.ID, document.RoleReviewer)
	p.signer = user("signer", p.org.ID, document.RoleSigner)
	p.clerk = user("clerk", p.org.ID, document.RoleClerk)
	p.handler = user("handler", p.unit.ID, document.RoleDrafter)
	w.must(w.svc.SetOrganId(ctx, as(p.admin), p.org.ID, organ))
	return p
}

func as(u *document.User) workflow.Actor {
	return workflow.Actor{UserID: u.ID, ClientAddr: "192.0.2.1"}
}

// issue walks a new outgoing document of A to issued, with its external
// recipients set while it is a draft.
func (w *world) issue(subject string, conf document.Confidentiality, prepare func(d *document.Document), to ...string) *document.Document {
	w.t.Helper()
	a := w.a
	d, err := w.wf.CreateDraft(ctx, as(a.drafter), workflow.DraftInput{UnitID: a.unit.ID, TypeCode: document.TypeCongVan, Subject: subject,
		Confidentiality: conf, File: w.sealed})
	w.must(err)
	if len(to) > 0 {
		w.must(w.svc.SetExternalRecipients(ctx, as(a.drafter), d.ID, to))
	}
	if prepare != nil {
		prepare(d)
	}
	steps := []func() error{
		func() error { _, err := w.wf.AssignSigner(ctx, as(a.drafter), d.ID, a.signer.ID); return err },
		func() error {
			_, err := w.wf.SubmitForReview(ctx, as(a.drafter), d.ID, []string{a.reviewer.ID})
			return err
		},
		func() error { _, err := w.wf.Approve(ctx, as(a.reviewer), d.ID, ""); return err },
		func() error { _, err := w.wf.StartSigning(ctx, as(a.signer), d.ID); return err },
		func() error { _, err := w.wf.RecordSignature(ctx, as(a.signer), d.ID, w.sealed); return err },
		func() error { _, err := w.wf.Number(ctx, as(a.clerk), d.ID); return err },
		func() error { _, err := w.wf.RecordNumberedVersion(ctx, as(a.clerk), d.ID, w.sealed); return err },
		func() error { _, err := w.wf.Seal(ctx, as(a.clerk), d.ID, w.sealed); return err },
		func() error { _, err := w.wf.Issue(ctx, as(a.clerk), d.ID); return err },
	}
	for _, step := range steps {
		w.must(step())
	}
	got, err := w.db.Document(ctx, d.ID)
	w.must(err)
	return got
}

// settle runs the exchange until nothing moves (at most n rounds).
func (w *world) settle() {
	w.t.Helper()
	for i := 0; i < 4; i++ {
		if err := w.svc.Tick(ctx); err != nil {
			w.t.Fatalf("tick: %v", err)
		}
	}
}

func (w *world) queue(p *party) []*interchange.InboxItem {
	w.t.Helper()
	q, err := w.svc.Queue(ctx, as(p.clerk), p.org.ID)
	w.must(err)
	return q
}

func codes(rr interchange.RecipientReport) string {
	var cs []string
	for _, s := range rr.Statuses {
		cs = append(cs, s.Code)
	}
	return strings.Join(cs, ",")
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := document.ErrorCode(err); got != code {
		t.Fatalf("err = %v (code %q), want %q", err, got, code)
	}
}

func TestExchangeFlows(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		a, b, c := w.a, w.b, w.c

		// Directory: imported from the hub, own organ left out, edits kept.
		_, err := w.svc.ImportAgencies(ctx, as(a.drafter), a.org.ID)
		wantCode(t, err, document.EFORBIDDEN)
		n, err := w.svc.ImportAgencies(ctx, as(a.admin), a.org.ID)
		w.must(err)
		if n != 2 {
			t.Fatalf("imported %d agencies, want 2", n)
		}
		w.must(w.svc.SaveAgency(ctx, as(a.admin), interchange.Agency{OrgID: a.org.ID, OrganId: organC, Name: "Ủy ban nhân dân xã C"}))
		w.must(func() error { _, err := w.svc.ImportAgencies(ctx, as(a.admin), a.org.ID); return err }())
		ags, err := w.svc.Agencies(ctx, as(a.drafter), a.org.ID)
		w.must(err)
		if len(ags) != 2 || ags[1].Name != "Ủy ban nhân dân xã C" || !ags[1].Edited {
			t.Fatalf("directory %+v", ags)
		}
		wantCode(t, w.svc.SaveAgency(ctx, as(a.admin), interchange.Agency{OrgID: a.org.ID, OrganId: "xa-c", Name: "x"}), document.EINVALID)
		wantCode(t, w.svc.SetOrganId(ctx, as(b.admin), b.org.ID, organA), document.ECONFLICT)

		// A secret document never goes out.
		sec, err := w.wf.CreateDraft(ctx, as(a.drafter), workflow.DraftInput{UnitID: a.unit.ID, TypeCode: document.TypeCongVan,
			Subject: "Mật", Confidentiality: document.ConfidentialitySecret, File: w.sealed})
		w.must(err)
		err = w.svc.SetExternalRecipients(ctx, as(a.drafter), sec.ID, []string{organB})
		if !errors.Is(err, interchange.ErrSecret) || !strings.Contains(err.Error(), "mật") {
			t.Fatalf("secret document: %v", err)
		}
		wantCode(t, w.svc.SetExternalRecipients(ctx, as(a.drafter), sec.ID, []string{"000.00.99.H40"}), document.EINVALID)

		// A issues to B and C.
		d := w.issue("Về việc liên thông văn bản", "", nil, organB, organC)
		w.settle()
		qb, qc := w.queue(b), w.queue(c)
		if len(qb) != 1 || len(qc) != 1 {
			t.Fatalf("queues B %d, C %d", len(qb), len(qc))
		}
		itB := qb[0]
		if itB.State != interchange.InboxPending || itB.Indication != "TOTAL-PASSED" || itB.Problem != "" || itB.FromOrgan != organA ||
			itB.FromName != "UBND xã A" || itB.Subject != "Về việc liên thông văn bản" || itB.Symbol != d.Symbol || itB.PDF.SHA256 != w.sealed.SHA256 {
			t.Fatalf("B's item %+v", itB)
		}
		_, err = w.svc.Queue(ctx, as(b.drafter), b.org.ID)
		wantCode(t, err, document.EFORBIDDEN)
		_, err = w.svc.Item(ctx, as(a.clerk), itB.ID)
		wantCode(t, err, document.ENOTFOUND)

		// B accepts (03, arrival number), C refuses (02).
		inB, err := w.svc.Accept(ctx, as(b.clerk), itB.ID)
		w.must(err)
		if inB.Direction != document.Incoming || inB.Number != 1 || inB.SenderName != "UBND xã A" || inB.Symbol != d.Symbol || inB.OrgID != b.org.ID {
			t.Fatalf("registered %+v", inB)
		}
		_, err = w.svc.Accept(ctx, as(b.clerk), itB.ID)
		wantCode(t, err, document.ECONFLICT)
		reps, err := db.Verifications(ctx, inB.ID)
		w.must(err)
		if len(reps) != 1 || reps[0].Indication != "TOTAL-PASSED" {
			t.Fatalf("kept reports %+v", reps)
		}
		wantCode(t, w.svc.Refuse(ctx, as(c.clerk), qc[0].ID, ""), document.EINVALID)
		w.must(w.svc.Refuse(ctx, as(c.clerk), qc[0].ID, "Không thuộc thẩm quyền"))

		// B routes, assigns, starts and completes: 04, 05, 06 go back by themselves.
		_, err = w.wf.Route(ctx, as(b.clerk), inB.ID, b.signer.ID)
		w.must(err)
		_, err = w.wf.Assign(ctx, as(b.signer), inB.ID, workflow.Assignment{HandlerID: b.handler.ID, HandlingUnitID: b.unit.ID, WorkingDays: 5, Instruction: "Xử lý"})
		w.must(err)
		w.settle()
		_, err = w.wf.StartHandling(ctx, as(b.handler), inB.ID)
		w.must(err)
		_, err = w.wf.Complete(ctx, as(b.handler), inB.ID, "Đã xong")
		w.must(err)
		w.settle()

		rep, err := w.svc.Report(ctx, as(a.clerk), d.ID)
		w.must(err)
		if rep.Exchange == nil || rep.Exchange.EdxmlDocumentId != organA+","+edxml.FormatDate(d.NumberedAt)+","+d.Symbol || len(rep.Recipients) != 2 {
			t.Fatalf("report %+v", rep)
		}
		if got := codes(rep.Recipients[0]); rep.Recipients[0].OrganId != organB || got != "01,03,04,05,06" {
			t.Errorf("B reported %s", got)
		}
		if got := codes(rep.Recipients[1]); rep.Recipients[1].OrganId != organC || got != "01,02" {
			t.Errorf("C reported %s", got)
		}
		if st := rep.Recipients[1].Statuses[1]; st.Description != "Không thuộc thẩm quyền" || st.Staff != "clerk C" {
			t.Errorf("refusal %+v", st)
		}
		if st := rep.Recipients[0].Statuses[1]; !strings.Contains(st.Description, "số đến 01") {
			t.Errorf("acceptance %+v", st)
		}
		if p := rep.Recipients[0].Packages; len(p) != 1 || p[0].State != interchange.OutboxSent {
			t.Errorf("packages %+v", p)
		}
		steps, err := w.wf.Timeline(ctx, as(a.clerk), d.ID)
		w.must(err)
		var seen []string
		for _, s := range steps {
			if s.Action == "exchange_status" {
				seen = append(seen, s.Comment[:2])
			}
		}
		sort.Strings(seen)
		if strings.Join(seen, ",") != "01,01,02,03,04,05,06" {
			t.Errorf("timeline statuses %v", seen)
		}

		// The same package again changes nothing.
		var raw bytes.Buffer
		pkgKey := itB.PackageBlob
		rc, _, err := w.blobs.Get(ctx, pkgKey)
		w.must(err)
		io.Copy(&raw, rc)
		rc.Close()
		w.tr.extra["dup-1"] = raw.Bytes()
		// A malformed package is kept for the clerk with the reason.
		w.tr.extra["bad-1"] = []byte(`<edXML xmlns="` + edxml.Namespace + `"><edXMLEnvelope><edXMLHeader><MessageHeader><From><OrganId>not an id</OrganId></From>`)
		w.settle()
		qb = w.queue(b)
		if len(qb) != 1 || qb[0].State != interchange.InboxInvalid || !strings.Contains(qb[0].Problem, "unexpected end of input") {
			t.Fatalf("after duplicate and malformed: %+v", qb)
		}
		wantCode(t, func() error { _, err := w.svc.Accept(ctx, as(b.clerk), qb[0].ID); return err }(), document.ECONFLICT)
		w.must(w.svc.Refuse(ctx, as(b.clerk), qb[0].ID, "Gói tin lỗi"))
		hist, err := w.svc.History(ctx, as(b.clerk), b.org.ID, 50)
		w.must(err)
		if len(hist) != 2 {
			t.Fatalf("B's history %d items", len(hist))
		}

		// Recall: B agrees (15), C refuses (16).
		d2 := w.issue("Văn bản sẽ thu hồi", "", nil, organB, organC)
		w.settle()
		qb, qc = w.queue(b), w.queue(c)
		if len(qb) != 1 || len(qc) != 1 {
			t.Fatalf("second document: queues %d %d", len(qb), len(qc))
		}
		in2, err := w.svc.Accept(ctx, as(b.clerk), qb[0].ID)
		w.must(err)
		wantCode(t, w.svc.Recall(ctx, as(a.clerk), d2.ID, ""), document.EINVALID)
		w.must(w.svc.Recall(ctx, as(a.clerk), d2.ID, "Sai thể thức"))
		wantCode(t, w.svc.Recall(ctx, as(a.clerk), d2.ID, "again"), document.ECONFLICT)
		w.settle()
		qb, qc = w.queue(b), w.queue(c)
		if len(qb) != 1 || qb[0].RecallState != interchange.RecallRequested || qb[0].RecallReason != "Sai thể thức" || qb[0].DocumentID != in2.ID {
			t.Fatalf("B's recall request %+v", qb)
		}
		if len(qc) != 1 || qc[0].RecallState != interchange.RecallRequested || qc[0].State != interchange.InboxPending {
			t.Fatalf("C's recall request %+v", qc)
		}
		recalledPDF := qb[0].PDF.BlobKey
		w.must(w.svc.AgreeRecall(ctx, as(b.clerk), qb[0].ID))
		if _, err := w.blobs.Stat(ctx, recalledPDF); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("B's recalled copy is still stored: %v", err)
		}
		w.must(w.svc.RefuseRecall(ctx, as(c.clerk), qc[0].ID, "Đã phổ biến"))
		w.settle()
		got2, err := db.Document(ctx, in2.ID)
		w.must(err)
		if got2.State != document.StateWithdrawn {
			t.Errorf("recalled copy in state %s", got2.State)
		}
		if len(w.queue(b)) != 0 {
			t.Errorf("recalled item still queued")
		}
		// A's own copy of the same PDF stays.
		if _, err := w.blobs.Stat(ctx, w.sealed.BlobKey); err != nil {
			t.Errorf("shared blob removed: %v", err)
		}
		rep, err = w.svc.Report(ctx, as(a.clerk), d2.ID)
		w.must(err)
		if got := codes(rep.Recipients[0]); got != "01,03,13,15" {
			t.Errorf("B on the recalled document: %s", got)
		}
		if got := codes(rep.Recipients[1]); got != "01,13,16" {
			t.Errorf("C on the recalled document: %s", got)
		}
		entries, err := db.AuditEntriesFor(ctx, "document", in2.ID)
		w.must(err)
		if last := entries[len(entries)-1]; last.Action != "document.exchange_recalled" {
			t.Errorf("recall not in B's audit log: %s", last.Action)
		}

		// Replace (3): both sides link the two documents.
		d3 := w.issue("Thay thế văn bản đầu tiên", "", func(nd *document.Document) {
			w.must(w.svc.SetReplacement(ctx, as(a.drafter), nd.ID, d.ID, 3, "Sai sót"))
		}, organB)
		w.settle()
		qb = w.queue(b)
		if len(qb) != 1 || qb[0].BusinessType != 3 || qb[0].ReplacesID != itB.ID {
			t.Fatalf("replacement %+v (want it to replace %s)", qb, itB.ID)
		}
		rep3, err := w.svc.Report(ctx, as(a.clerk), d3.ID)
		w.must(err)
		if rep3.Exchange.ReplacesDocumentID != d.ID || rep3.Exchange.BusinessType != 3 {
			t.Errorf("sender side link %+v", rep3.Exchange)
		}
	})
}

func TestOutboxRetriesWhileTheAxisIsDown(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		real := w.tr.Transport
		w.tr.Transport = hubclient.New("http://127.0.0.1:1", "vanban", "s", nil) // nothing listens
		w.must(w.svc.SaveAgency(ctx, as(w.a.admin), interchange.Agency{OrgID: w.a.org.ID, OrganId: organB, Name: "UBND xã B"}))
		d := w.issue("Gửi khi trục ngừng", "", nil, organB)
		if err := w.svc.Tick(ctx); err == nil {
			t.Log("tick with the axis down reported no error")
		}
		rep, err := w.svc.Report(ctx, as(w.a.clerk), d.ID)
		w.must(err)
		p := rep.Recipients[0].Packages
		if len(p) != 1 || p[0].State != interchange.OutboxPending || p[0].Attempts != 1 || p[0].LastError == "" {
			t.Fatalf("after a failed attempt %+v", p[0])
		}
		// The next attempt waits for its backoff: bring the clock forward.
		w.tr.Transport = real
		w.svc.Now = func() time.Time { return time.Now().Add(10 * time.Second) }
		w.settle()
		if len(w.queue(w.b)) != 1 {
			t.Fatal("not delivered after the axis came back")
		}
		rep, _ = w.svc.Report(ctx, as(w.a.clerk), d.ID)
		if p := rep.Recipients[0].Packages[0]; p.State != interchange.OutboxSent || p.Attempts != 2 {
			t.Fatalf("after retry %+v", p)
		}
	})
}
