package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"vanban/exchange/edxml"
	"vanban/internal/document"
	"vanban/internal/interchange"
)

// Exchange channels: an internal delivery to a recipient unit, or a
// sending to another agency over the document interconnection axis.
const (
	ChannelInternal = "internal"
	ChannelEdxml    = "edxml"
)

// Kinds of edXML rows: what was sent, and what a recipient reported.
const (
	KindPackage = "package"
	KindStatus  = "status"
)

// States of an edXML package row. A document's packages are queued when
// it is issued and the organization has its identifier code; a secret
// document is never sent (withheld).
const (
	PackageWaiting  = "waiting"  // not queued yet (no identifier code yet)
	PackageWithheld = "withheld" // secret: never leaves the organization
	PackagePending  = "pending"  // queued, not delivered yet (retrying)
	PackageSent     = "sent"
	PackageFailed   = "failed" // given up after retries, or refused by the axis
)

// statusWords are the edXML status codes (QCVN 102:2016) as the
// exchange.json status of a status row.
var statusWords = map[edxml.StatusCode]string{
	edxml.StatusArrived:         "received",
	edxml.StatusRefused:         "refused",
	edxml.StatusAccepted:        "accepted",
	edxml.StatusAssigned:        "assigned",
	edxml.StatusInProgress:      "in_progress",
	edxml.StatusDone:            "completed",
	edxml.StatusRecallRequested: "recall_requested",
	edxml.StatusRecallAgreed:    "recall_agreed",
	edxml.StatusRecallRefused:   "recall_refused",
}

// Audit actions of the exchange (internal/interchange) that prove the
// rows of exchange.json.
const (
	actionExchangeStatus   = "document.exchange_status"
	actionExchangeQueued   = "document.exchange_queued"
	actionExchangeRecall   = "document.exchange_recall"
	actionExchangeRefused  = "document.exchange_refused"
	businessTypeRecall     = int(edxml.DocRecall)
	localRecallDedupPrefix = "local|"
)

// InterchangeTx is what Interchange reads of the exchange's records
// (*store.Tx implements it).
type InterchangeTx interface {
	ExchangeDocument(ctx context.Context, documentID string) (*interchange.DocumentExchange, error)
	ExchangeRecipients(ctx context.Context, documentID string) ([]interchange.Recipient, error)
	ExchangeStatuses(ctx context.Context, documentID string) ([]interchange.StatusRecord, error)
	ExchangeOutboxFor(ctx context.Context, documentID string) ([]*interchange.OutboxMessage, error)
}

// TxRunner runs fn in one transaction (*store.DB).
type TxRunner[T any] interface {
	WithTx(ctx context.Context, fn func(tx T) error) error
}

// Interchange is the ExchangeSource of the edXML exchange: for each
// external recipient of the document, the packages sent to it (the
// document's own and a recall) with their delivery state, and every
// status it reported (01 arrived ... 16 recall refused), as
// internal/interchange stored them, read in one transaction. The caller
// (Builder.Build) has already checked that the actor may see the
// document.
type Interchange[T InterchangeTx] struct {
	DB TxRunner[T]
}

var _ ExchangeSource = Interchange[InterchangeTx]{}

// ExchangeStatuses implements ExchangeSource.
func (x Interchange[T]) ExchangeStatuses(ctx context.Context, docID string) ([]ExchangeStatus, error) {
	var out []ExchangeStatus
	err := x.DB.WithTx(ctx, func(tx T) error {
		out = nil
		xd, err := tx.ExchangeDocument(ctx, docID)
		if document.ErrorCode(err) == document.ENOTFOUND {
			xd, err = nil, nil
		}
		if err != nil {
			return err
		}
		rs, err := tx.ExchangeRecipients(ctx, docID)
		if err != nil {
			return err
		}
		sts, err := tx.ExchangeStatuses(ctx, docID)
		if err != nil {
			return err
		}
		box, err := tx.ExchangeOutboxFor(ctx, docID)
		if err != nil {
			return err
		}
		out = exchangeRows(xd, rs, sts, box)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evidence: exchange statuses: %w", err)
	}
	return out, nil
}

// exchangeRows lays out the exchange's records per recipient: packages in
// the order they were queued, then the statuses in time order.
func exchangeRows(xd *interchange.DocumentExchange, rs []interchange.Recipient, sts []interchange.StatusRecord, box []*interchange.OutboxMessage) []ExchangeStatus {
	out := []ExchangeStatus{}
	for _, r := range rs {
		base := ExchangeStatus{Channel: ChannelEdxml, Recipient: r.OrganId, RecipientName: r.Name}
		packages := 0
		for _, m := range box {
			if m.Kind != interchange.KindPackage || m.ToOrgan != r.OrganId {
				continue
			}
			packages++
			row := base
			row.Kind, row.BusinessType, row.At = KindPackage, m.BusinessType, m.CreatedAt
			switch m.State {
			case interchange.OutboxSent:
				row.Status, row.At, row.Detail = PackageSent, m.SentAt, transportDetail(m.TransportID)
			case interchange.OutboxDead:
				row.Status, row.Detail = PackageFailed, m.LastError
			default:
				row.Status, row.Detail = PackagePending, m.LastError
			}
			if xd != nil && m.BusinessType != businessTypeRecall {
				row.EdxmlDocumentID = xd.EdxmlDocumentId
			}
			out = append(out, row)
		}
		if packages == 0 {
			row := base
			row.Kind, row.Status = KindPackage, PackageWaiting
			if xd != nil && !xd.QueuedAt.IsZero() && xd.EdxmlDocumentId == "" {
				row.Status, row.At, row.Detail = PackageWithheld, xd.QueuedAt, "văn bản mật không gửi liên thông / a secret document is never sent"
			}
			out = append(out, row)
		}
		for _, s := range sts {
			if s.OrganId != r.OrganId {
				continue
			}
			row := base
			row.Kind, row.Code, row.Name, row.At = KindStatus, s.Code, edxml.StatusCode(s.Code).Name(), s.At
			row.Status = statusWords[edxml.StatusCode(s.Code)]
			if row.Status == "" {
				row.Status = "status_" + s.Code
			}
			row.Detail, row.Staff, row.Department = s.Description, s.Staff, s.Department
			row.Local = strings.HasPrefix(s.DedupeKey, localRecallDedupPrefix)
			out = append(out, row)
		}
	}
	return out
}

func transportDetail(id string) string {
	if id == "" {
		return ""
	}
	return "transport id " + id
}

// exchangeChange is the part of the exchange's audit changes the proof
// compares.
type exchangeChange struct {
	Code         string    `json:"code"`
	Organ        string    `json:"organ"`
	At           time.Time `json:"at"`
	Staff        string    `json:"staff"`
	To           []string  `json:"to"`
	BusinessType int       `json:"business_type"`
	Reason       string    `json:"reason"`
}

// proves says whether audit entry e records row.
func proves(e AuditEntry, row ExchangeStatus) bool {
	var c exchangeChange
	if len(e.Change) > 0 && json.Unmarshal(e.Change, &c) != nil {
		return false
	}
	switch {
	case row.Kind == KindStatus && row.Local:
		// 13 on the sender's side of the table: the recall request left,
		// recorded (in whole seconds) with the recall's entry.
		return e.Action == actionExchangeRecall && row.Code == string(edxml.StatusRecallRequested) && c.Reason == row.Detail &&
			time.UnixMicro(e.TimeMicros).UTC().Truncate(time.Second).Equal(row.At)
	case row.Kind == KindStatus:
		return e.Action == actionExchangeStatus && c.Code == row.Code && c.Organ == row.Recipient && c.At.Equal(row.At) && c.Staff == row.Staff
	case row.Kind == KindPackage && row.Status == PackageWithheld:
		return e.Action == actionExchangeRefused
	case row.Kind == KindPackage && row.BusinessType == businessTypeRecall:
		return e.Action == actionExchangeRecall && c.Reason != ""
	case row.Kind == KindPackage:
		return e.Action == actionExchangeQueued && c.BusinessType == row.BusinessType && slices.Contains(c.To, row.Recipient)
	}
	return false
}

// needsProof: every edXML row but a package not queued yet stands on an
// audit entry of the document.
func needsProof(row ExchangeStatus) bool {
	return row.Channel == ChannelEdxml && !(row.Kind == KindPackage && row.Status == PackageWaiting)
}

// reported: a status the recipient sent, recorded by an audit entry of
// its own.
func reported(row ExchangeStatus) bool { return row.Kind == KindStatus && !row.Local }

// proveExchange sets each edXML row's AuditSeq to the entry that records
// it (a reported status to its own entry, one to one) and returns how
// many rows found none and the exchange_status entries no row took.
func proveExchange(rows []ExchangeStatus, entries []AuditEntry) (unproven int, untaken []AuditEntry) {
	taken := map[int64]bool{}
	for i := range rows {
		rows[i].AuditSeq = 0
		if !needsProof(rows[i]) {
			continue
		}
		for _, e := range entries {
			oneToOne := reported(rows[i])
			if oneToOne && taken[e.Seq] {
				continue
			}
			if proves(e, rows[i]) {
				rows[i].AuditSeq = e.Seq
				if oneToOne {
					taken[e.Seq] = true
				}
				break
			}
		}
		if rows[i].AuditSeq == 0 {
			unproven++
		}
	}
	for _, e := range entries {
		if e.Action == actionExchangeStatus && !taken[e.Seq] {
			untaken = append(untaken, e)
		}
	}
	return unproven, untaken
}

var packageStates = map[string]bool{PackageWaiting: true, PackageWithheld: true, PackagePending: true, PackageSent: true, PackageFailed: true}

// checkExchange checks exchange.json against the audit entries that
// verified (hash and chain): each row is well formed, each edXML row is
// recorded by the audit entry it names, and every status the audit log
// recorded for the document is in the file. When audit.json itself does
// not hold (auditOK false, already reported), only the form is checked.
func checkExchange(res *Result, raw []byte, entries []AuditEntry, auditOK bool) {
	var rows []ExchangeStatus
	if err := json.Unmarshal(raw, &rows); err != nil {
		res.bad(MemberExchange, "not a list of exchange statuses: %v", err)
		return
	}
	bySeq := map[int64]AuditEntry{}
	for _, e := range entries {
		bySeq[e.Seq] = e
	}
	bad := false
	taken := map[int64]int{}
	agencies := map[string]bool{}
	statuses := 0
	for i, row := range rows {
		where := fmt.Sprintf("row %d (%s %s %s)", i+1, row.Channel, row.Recipient, row.Status)
		if strings.TrimSpace(row.Recipient) == "" {
			res.bad(MemberExchange, "%s names no recipient", where)
			bad = true
			continue
		}
		switch row.Channel {
		case ChannelInternal:
			if row.Status != "pending" && row.Status != "delivered" {
				res.bad(MemberExchange, "%s: an internal delivery is pending or delivered", where)
				bad = true
			}
			continue
		case ChannelEdxml:
		default:
			res.bad(MemberExchange, "%s: unknown channel", where)
			bad = true
			continue
		}
		agencies[row.Recipient] = true
		switch row.Kind {
		case KindPackage:
			if !packageStates[row.Status] {
				res.bad(MemberExchange, "%s: unknown package state", where)
				bad = true
				continue
			}
		case KindStatus:
			code := edxml.StatusCode(row.Code)
			if !code.Known() || statusWords[code] != row.Status {
				res.bad(MemberExchange, "%s: status code %q does not say %q", where, row.Code, row.Status)
				bad = true
				continue
			}
			statuses++
		default:
			res.bad(MemberExchange, "%s: unknown kind %q", where, row.Kind)
			bad = true
			continue
		}
		if !needsProof(row) || !auditOK {
			continue
		}
		e, ok := bySeq[row.AuditSeq]
		switch {
		case row.AuditSeq == 0 || !ok:
			res.bad(MemberExchange, "%s is not recorded by any verified audit entry of the document (audit_seq %d)", where, row.AuditSeq)
			bad = true
		case !proves(e, row):
			res.bad(MemberExchange, "%s does not match audit entry %d (%s)", where, e.Seq, e.Action)
			bad = true
		case reported(row) && taken[e.Seq] > 0:
			res.bad(MemberExchange, "%s and row %d both claim audit entry %d", where, taken[e.Seq], e.Seq)
			bad = true
		default:
			if reported(row) {
				taken[e.Seq] = i + 1
			}
		}
	}
	for _, e := range entries {
		if !auditOK || e.Action != actionExchangeStatus || taken[e.Seq] > 0 {
			continue
		}
		var c exchangeChange
		json.Unmarshal(e.Change, &c)
		res.bad(MemberExchange, "audit entry %d records status %s from %s at %s, which the file leaves out", e.Seq, c.Code, c.Organ, c.At.UTC().Format(time.RFC3339))
		bad = true
	}
	if bad || !auditOK {
		return
	}
	if len(agencies) > 0 {
		res.ok("%s: %d statuses reported by %d agencies, every sending and status recorded by an anchored audit entry", MemberExchange, statuses, len(agencies))
	} else {
		res.ok("%s: %d internal deliveries, no sending to another agency", MemberExchange, len(rows))
	}
}
