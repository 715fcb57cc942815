package evidence

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/interchange"
)

const (
	organB = "000.00.22.H40"
	organC = "000.00.23.H40"
)

var t0 = time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)

// fakeExchangeTx holds one document's exchange records.
type fakeExchangeTx struct {
	doc  *interchange.DocumentExchange
	rs   []interchange.Recipient
	sts  []interchange.StatusRecord
	box  []*interchange.OutboxMessage
	txes int
}

func (f *fakeExchangeTx) WithTx(ctx context.Context, fn func(tx *fakeExchangeTx) error) error {
	f.txes++
	return fn(f)
}

func (f *fakeExchangeTx) ExchangeDocument(ctx context.Context, id string) (*interchange.DocumentExchange, error) {
	if f.doc == nil {
		return nil, document.Errorf(document.ENOTFOUND, "no exchange for %s", id)
	}
	return f.doc, nil
}
func (f *fakeExchangeTx) ExchangeRecipients(ctx context.Context, id string) ([]interchange.Recipient, error) {
	return f.rs, nil
}
func (f *fakeExchangeTx) ExchangeStatuses(ctx context.Context, id string) ([]interchange.StatusRecord, error) {
	return f.sts, nil
}
func (f *fakeExchangeTx) ExchangeOutboxFor(ctx context.Context, id string) ([]*interchange.OutboxMessage, error) {
	return f.box, nil
}

// sentToBC is a document sent to B (accepted, then recalled and agreed)
// and C (refused), with the audit entries the exchange writes for it.
func sentToBC() (*fakeExchangeTx, []AuditEntry) {
	f := &fakeExchangeTx{
		doc: &interchange.DocumentExchange{DocumentID: "d1", EdxmlDocumentId: "000.00.21.H40,2026/11/20,12/UBND-VP", QueuedAt: t0},
		rs:  []interchange.Recipient{{DocumentID: "d1", OrganId: organB, Name: "UBND xã Bình Xa"}, {DocumentID: "d1", OrganId: organC, Name: "UBND xã Minh Hương"}},
		box: []*interchange.OutboxMessage{
			{Kind: interchange.KindPackage, ToOrgan: organB, State: interchange.OutboxSent, CreatedAt: t0, SentAt: t0.Add(time.Second), TransportID: "t-1"},
			{Kind: interchange.KindPackage, ToOrgan: organC, State: interchange.OutboxSent, CreatedAt: t0, SentAt: t0.Add(time.Second), TransportID: "t-2"},
			{Kind: interchange.KindStatus, ToOrgan: organB, State: interchange.OutboxSent}, // not a package: left out
			{Kind: interchange.KindPackage, ToOrgan: organB, BusinessType: 1, Reason: "Sai sót", State: interchange.OutboxPending, CreatedAt: t0.Add(time.Hour), LastError: "hub: 503"},
			{Kind: interchange.KindPackage, ToOrgan: organC, BusinessType: 1, Reason: "Sai sót", State: interchange.OutboxDead, CreatedAt: t0.Add(time.Hour), LastError: "rejected"},
		},
		sts: []interchange.StatusRecord{
			{OrganId: organB, Code: "01", At: t0.Add(2 * time.Second), DedupeKey: "status|d1|B|01"},
			{OrganId: organC, Code: "01", At: t0.Add(2 * time.Second), DedupeKey: "status|d1|C|01"},
			{OrganId: organB, Code: "03", Description: "Số đến 15", Staff: "Lê Văn Thư", At: t0.Add(time.Minute), DedupeKey: "status|d1|B|03"},
			{OrganId: organC, Code: "02", Description: "Không thuộc thẩm quyền", Staff: "Trần Thị Văn", At: t0.Add(time.Minute), DedupeKey: "status|d1|C|02"},
			{OrganId: organB, Code: "13", Description: "Sai sót", Staff: "Nguyễn Văn Văn Thư", At: t0.Add(time.Hour), DedupeKey: "local|d1|B|13"},
			{OrganId: organC, Code: "13", Description: "Sai sót", Staff: "Nguyễn Văn Văn Thư", At: t0.Add(time.Hour), DedupeKey: "local|d1|C|13"},
			{OrganId: organB, Code: "15", Staff: "Lê Văn Thư", At: t0.Add(2 * time.Hour), DedupeKey: "status|d1|B|15"},
		},
	}
	entry := func(seq int64, at time.Time, action string, change map[string]any) AuditEntry {
		b, _ := json.Marshal(change)
		return AuditEntry{Seq: seq, TimeMicros: at.UnixMicro(), Actor: "system:exchange", Action: action, ObjectType: "document", ObjectID: "d1", Change: b}
	}
	status := func(seq int64, organ, code, staff string, at time.Time) AuditEntry {
		return entry(seq, at.Add(3*time.Second), actionExchangeStatus, map[string]any{"code": code, "organ": organ, "at": at, "staff": staff, "comment": code})
	}
	es := []AuditEntry{
		entry(10, t0, "document.issued", nil),
		entry(11, t0, actionExchangeQueued, map[string]any{"document_id": f.doc.EdxmlDocumentId, "to": []string{organB, organC}, "business_type": 0}),
		status(12, organB, "01", "", t0.Add(2*time.Second)),
		status(14, organC, "01", "", t0.Add(2*time.Second)),
		status(15, organB, "03", "Lê Văn Thư", t0.Add(time.Minute)),
		status(17, organC, "02", "Trần Thị Văn", t0.Add(time.Minute)),
		entry(20, t0.Add(time.Hour+345*time.Millisecond), actionExchangeRecall, map[string]any{"reason": "Sai sót"}),
		status(22, organB, "15", "Lê Văn Thư", t0.Add(2*time.Hour)),
	}
	return f, es
}

func TestInterchangeRows(t *testing.T) {
	f, entries := sentToBC()
	rows, err := Interchange[*fakeExchangeTx]{DB: f}.ExchangeStatuses(context.Background(), "d1")
	if err != nil {
		t.Fatal(err)
	}
	if f.txes != 1 {
		t.Errorf("read in %d transactions, want one", f.txes)
	}
	var got []string
	for _, r := range rows {
		s := r.Recipient[len(r.Recipient)-3:] + " " + r.Kind + " " + r.Status
		if r.Code != "" {
			s += " " + r.Code
		}
		got = append(got, s)
	}
	want := []string{
		"H40 package sent", "H40 package pending", "H40 status received 01", "H40 status accepted 03", "H40 status recall_requested 13", "H40 status recall_agreed 15",
		"H40 package sent", "H40 package failed", "H40 status received 01", "H40 status refused 02", "H40 status recall_requested 13",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rows[0].RecipientName != "UBND xã Bình Xa" || rows[0].EdxmlDocumentID == "" || !rows[0].At.Equal(t0.Add(time.Second)) || rows[0].Detail != "transport id t-1" {
		t.Errorf("B's package: %+v", rows[0])
	}
	if rows[1].BusinessType != 1 || rows[1].EdxmlDocumentID != "" || rows[1].Detail != "hub: 503" {
		t.Errorf("B's recall package: %+v", rows[1])
	}
	if rows[3].Name != "Đã tiếp nhận" || rows[3].Staff != "Lê Văn Thư" || rows[3].Detail != "Số đến 15" {
		t.Errorf("B's 03: %+v", rows[3])
	}
	if !rows[4].Local || rows[5].Local {
		t.Errorf("13 is ours, 15 is B's: %+v %+v", rows[4], rows[5])
	}

	if unproven, untaken := proveExchange(rows, entries); unproven != 0 || len(untaken) != 0 {
		t.Fatalf("proof: %d rows unproven, entries left %v", unproven, untaken)
	}
	wantSeq := []int64{11, 20, 12, 15, 20, 22, 11, 20, 14, 17, 20}
	for i, r := range rows {
		if r.AuditSeq != wantSeq[i] {
			t.Errorf("row %d (%s %s) proven by %d, want %d", i, r.Kind, r.Status, r.AuditSeq, wantSeq[i])
		}
	}
	raw, _ := json.Marshal(rows)
	res := &Result{}
	checkExchange(res, raw, entries, true)
	if len(res.Problems) != 0 || len(res.Checked) != 1 || !strings.Contains(res.Checked[0], "7 statuses reported by 2 agencies") {
		t.Fatalf("intact: %+v", res)
	}
}

// Rows not queued yet stand on nothing; a secret document's rows stand on
// the refusal.
func TestInterchangeWaitingAndWithheld(t *testing.T) {
	f := &fakeExchangeTx{rs: []interchange.Recipient{{OrganId: organB}}}
	rows, err := Interchange[*fakeExchangeTx]{DB: f}.ExchangeStatuses(context.Background(), "d1")
	if err != nil || len(rows) != 1 || rows[0].Status != PackageWaiting {
		t.Fatalf("not queued: %+v %v", rows, err)
	}
	if unproven, _ := proveExchange(rows, nil); unproven != 0 {
		t.Errorf("a waiting row needs no proof")
	}
	f.doc = &interchange.DocumentExchange{DocumentID: "d1", QueuedAt: t0}
	rows, _ = Interchange[*fakeExchangeTx]{DB: f}.ExchangeStatuses(context.Background(), "d1")
	if len(rows) != 1 || rows[0].Status != PackageWithheld {
		t.Fatalf("secret: %+v", rows)
	}
	refused, _ := json.Marshal(map[string]any{"reason": "secret"})
	entries := []AuditEntry{{Seq: 5, TimeMicros: t0.UnixMicro(), Action: actionExchangeRefused, ObjectType: "document", ObjectID: "d1", Change: refused}}
	if unproven, _ := proveExchange(rows, entries); unproven != 0 || rows[0].AuditSeq != 5 {
		t.Errorf("withheld proven by %d", rows[0].AuditSeq)
	}
	// No exchange at all: internal rows only.
	raw, _ := json.Marshal([]ExchangeStatus{{Channel: ChannelInternal, Recipient: "unit-1", Status: "delivered"}})
	res := &Result{}
	checkExchange(res, raw, nil, true)
	if len(res.Problems) != 0 || !strings.Contains(res.Checked[0], "1 internal deliveries") {
		t.Errorf("internal only: %+v", res)
	}
}

// Every way exchange.json can disagree with the audit entries is named.
func TestCheckExchangeMismatches(t *testing.T) {
	f, entries := sentToBC()
	good, err := Interchange[*fakeExchangeTx]{DB: f}.ExchangeStatuses(context.Background(), "d1")
	if err != nil {
		t.Fatal(err)
	}
	proveExchange(good, entries)
	refusal := 9 // C's 02
	if good[refusal].Code != "02" {
		t.Fatalf("row %d is %+v", refusal, good[refusal])
	}
	for _, tc := range []struct {
		name    string
		change  func(rows []ExchangeStatus) []ExchangeStatus
		entries func(es []AuditEntry) []AuditEntry
		want    string
	}{
		{name: "a refusal left out", want: "records status 02 from " + organC,
			change: func(rows []ExchangeStatus) []ExchangeStatus {
				return append(rows[:refusal:refusal], rows[refusal+1:]...)
			}},
		{name: "a refusal turned into an acceptance", want: "does not say",
			change: func(rows []ExchangeStatus) []ExchangeStatus { rows[refusal].Code = "03"; return rows }},
		{name: "an acceptance consistently renamed", want: "does not match audit entry 17",
			change: func(rows []ExchangeStatus) []ExchangeStatus {
				rows[refusal].Code, rows[refusal].Status = "03", "accepted"
				return rows
			}},
		{name: "a status moved in time", want: "does not match audit entry 17",
			change: func(rows []ExchangeStatus) []ExchangeStatus {
				rows[refusal].At = rows[refusal].At.Add(-time.Hour)
				return rows
			}},
		{name: "a status made up", want: "not recorded by any verified audit entry",
			change: func(rows []ExchangeStatus) []ExchangeStatus {
				r := rows[refusal]
				r.Code, r.Status, r.AuditSeq = "06", "completed", 0
				return append(rows, r)
			}},
		{name: "one entry claimed twice", want: "both claim audit entry 17",
			change: func(rows []ExchangeStatus) []ExchangeStatus { return append(rows, rows[refusal]) }},
		{name: "the proving entry missing from audit.json", want: "not recorded by any verified audit entry",
			entries: func(es []AuditEntry) []AuditEntry {
				out := []AuditEntry{}
				for _, e := range es {
					if e.Seq != 17 {
						out = append(out, e)
					}
				}
				return out
			}},
		{name: "a package claimed as sent to an agency never queued", want: "does not match audit entry 11",
			change: func(rows []ExchangeStatus) []ExchangeStatus {
				r := rows[0]
				r.Recipient = "000.00.99.H40"
				return append(rows, r)
			}},
		{name: "an unknown package state", want: "unknown package state",
			change: func(rows []ExchangeStatus) []ExchangeStatus { rows[0].Status = "delivered-maybe"; return rows }},
		{name: "an unknown channel", want: "unknown channel",
			change: func(rows []ExchangeStatus) []ExchangeStatus { rows[0].Channel = "fax"; return rows }},
		{name: "no recipient", want: "names no recipient",
			change: func(rows []ExchangeStatus) []ExchangeStatus { rows[2].Recipient = " "; return rows }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := append([]ExchangeStatus(nil), good...)
			if tc.change != nil {
				rows = tc.change(rows)
			}
			es := entries
			if tc.entries != nil {
				es = tc.entries(append([]AuditEntry(nil), entries...))
			}
			raw, _ := json.Marshal(rows)
			res := &Result{}
			checkExchange(res, raw, es, true)
			var msgs []string
			for _, p := range res.Problems {
				if p.Member != MemberExchange {
					t.Errorf("problem on %s", p.Member)
				}
				msgs = append(msgs, p.Message)
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tc.want) || len(res.Checked) != 0 {
				t.Errorf("want %q, got %q (checked %v)", tc.want, msgs, res.Checked)
			}
		})
	}
	res := &Result{}
	checkExchange(res, []byte(`{"not":"a list"}`), entries, true)
	if len(res.Problems) != 1 {
		t.Errorf("not a list: %+v", res.Problems)
	}
	// With audit.json broken (reported there), only the form is checked.
	res = &Result{}
	raw, _ := json.Marshal(good)
	checkExchange(res, raw, nil, false)
	if len(res.Problems) != 0 || len(res.Checked) != 0 {
		t.Errorf("audit broken: %+v", res)
	}
}
