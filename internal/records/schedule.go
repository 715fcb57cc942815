package records

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"vanban/internal/audit"
	"vanban/internal/document"
	"vanban/internal/workflow"
)

// The retention schedule (bảng thời hạn bảo quản): the use cases behind
// the archivist's schedule page and the API's /records/schedule. Reading
// is for everyone of the organization; changing it is for its archivists
// and administrators, each change compared and set against the version
// the editor saw and written to the audit log with what it was before.

// Audit actions and object type of schedule changes. The object id is
// "<org id>/<code>".
const (
	AuditSchedulePut    = "records.schedule.put"
	AuditScheduleDelete = "records.schedule.delete"
	AuditObjectSchedule = "retention_schedule"
)

// Version preconditions of ScheduleEdit.IfMatch besides an entry's
// Version.
const (
	// ScheduleAbsent: the edit adds an entry; ECONFLICT if the code exists.
	ScheduleAbsent = "absent"
	// ScheduleExists: the edit changes an existing entry, whatever it is.
	ScheduleExists = "*"
)

// Limits of a schedule entry's fields besides document.ScheduleEntry's.
const (
	maxScheduleCode   = 40
	maxScheduleSource = 300
	MaxScheduleYears  = 100
)

// ScheduleEdit adds or changes one entry.
type ScheduleEdit struct {
	Code      string
	Title     string
	Permanent bool
	Years     int
	Source    string
	// IfMatch is the Version of the entry as the editor saw it,
	// ScheduleAbsent for an addition, ScheduleExists for a change of
	// whatever is there, or "" for no precondition (add or replace).
	IfMatch string
}

// ScheduleLine is an entry with its version and how many files took their
// period from it.
type ScheduleLine struct {
	Entry   *document.ScheduleEntry
	Version string
	Files   int
}

// ScheduleView is the organization's schedule as the page shows it.
type ScheduleView struct {
	Lines []ScheduleLine
	// Editable: the actor may change the schedule.
	Editable bool
}

// ScheduleChange is one change of an entry, from the audit log.
type ScheduleChange struct {
	Seq     int64
	At      time.Time
	ActorID string
	Actor   string // the person's name, or the id when unknown
	Action  string // AuditSchedulePut, AuditScheduleDelete
	Before  *document.ScheduleEntry
	After   *document.ScheduleEntry
}

// ScheduleEntryView is one entry with its history, newest change first.
type ScheduleEntryView struct {
	ScheduleLine
	Editable bool
	History  []ScheduleChange
}

// ScheduleStore is what the schedule use cases need of the database
// beyond Store (*store.DB).
type ScheduleStore interface {
	ChangeScheduleEntry(ctx context.Context, before, after *document.ScheduleEntry, e audit.Entry) error
	ScheduleFileCounts(ctx context.Context, orgID string) (map[string]int, error)
	AuditEntriesFor(ctx context.Context, objectType, objectID string) ([]audit.Entry, error)
}

// ScheduleVersion is an entry's version: a digest of what it says, so an
// edit made against an older reading is refused.
func ScheduleVersion(e *document.ScheduleEntry) string {
	if e == nil {
		return ""
	}
	b, _ := json.Marshal([]any{e.Code, e.Title, e.Permanent, e.Years, e.Source})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (s *Service) scheduleStore() (ScheduleStore, error) {
	ss, ok := s.db.(ScheduleStore)
	if !ok {
		return nil, fmt.Errorf("records: the store cannot change the schedule with its audit entry")
	}
	return ss, nil
}

// validCode: letters, digits and . - _ (the code is part of the page's
// and the API's paths).
func validCode(code string) error {
	if code == "" || len(code) > maxScheduleCode {
		return document.FieldErrorf("code", document.EINVALID, "a schedule entry needs a code of 1 to %d characters", maxScheduleCode)
	}
	for _, r := range code {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return document.FieldErrorf("code", document.EINVALID, "the code %q may hold only letters, digits, '.', '-' and '_' (e.g. TH-01)", code)
		}
	}
	return nil
}

func (in ScheduleEdit) entry(orgID string) (*document.ScheduleEntry, error) {
	e := &document.ScheduleEntry{OrgID: orgID, Code: strings.TrimSpace(in.Code), Title: strings.TrimSpace(in.Title),
		Permanent: in.Permanent, Years: in.Years, Source: strings.TrimSpace(in.Source)}
	if err := validCode(e.Code); err != nil {
		return nil, err
	}
	switch {
	case e.Title == "" || len(e.Title) > 1000 || !utf8.ValidString(e.Title):
		return nil, document.FieldErrorf("title", document.EINVALID, "a schedule entry needs a title of at most 1000 bytes")
	case len(e.Source) > maxScheduleSource || !utf8.ValidString(e.Source):
		return nil, document.FieldErrorf("source", document.EINVALID, "the source is longer than %d bytes", maxScheduleSource)
	case e.Permanent:
		e.Years = 0
	case e.Years < 1 || e.Years > MaxScheduleYears:
		return nil, document.FieldErrorf("years", document.EINVALID, "a retention period is permanent or 1 to %d years, not %d", MaxScheduleYears, e.Years)
	}
	return e, nil
}

func scheduleAuditEntry(a workflow.Actor, u *document.User, action string, before, after *document.ScheduleEntry, code string) (audit.Entry, error) {
	type side struct {
		Title     string `json:"title"`
		Permanent bool   `json:"permanent"`
		Years     int    `json:"years"`
		Source    string `json:"source"`
	}
	conv := func(e *document.ScheduleEntry) *side {
		if e == nil {
			return nil
		}
		return &side{Title: e.Title, Permanent: e.Permanent, Years: e.Years, Source: e.Source}
	}
	b, err := json.Marshal(struct {
		Code   string `json:"code"`
		Before *side  `json:"before"`
		After  *side  `json:"after"`
	}{code, conv(before), conv(after)})
	if err != nil {
		return audit.Entry{}, err
	}
	return audit.Entry{Actor: u.ID, ClientAddr: a.ClientAddr, Action: action, ObjectType: AuditObjectSchedule,
		ObjectID: u.OrgID + "/" + code, Change: b}, nil
}

// current is the stored entry, nil when there is none.
func (s *Service) current(ctx context.Context, orgID, code string) (*document.ScheduleEntry, error) {
	e, err := s.db.ScheduleEntry(ctx, orgID, code)
	if document.ErrorCode(err) == document.ENOTFOUND {
		return nil, nil
	}
	return e, err
}

func staleError(code string) error {
	return document.FieldErrorf("version", document.ECONFLICT, "schedule entry %s was changed by someone else since you opened it; reload it and edit again", code)
}

func checkPrecondition(ifMatch string, cur *document.ScheduleEntry, code string) error {
	switch ifMatch {
	case "":
		return nil
	case ScheduleAbsent:
		if cur != nil {
			return document.FieldErrorf("code", document.ECONFLICT, "the schedule already has an entry %s", code)
		}
	case ScheduleExists:
		if cur == nil {
			return document.Errorf(document.ENOTFOUND, "schedule entry %s not found", code)
		}
	default:
		if cur == nil {
			return document.Errorf(document.ENOTFOUND, "schedule entry %s not found (removed meanwhile?)", code)
		}
		if ScheduleVersion(cur) != ifMatch {
			return staleError(code)
		}
	}
	return nil
}

// ScheduleOverview returns the organization's schedule with each entry's
// version and file count, and whether the actor may change it.
func (s *Service) ScheduleOverview(ctx context.Context, a workflow.Actor) (*ScheduleView, error) {
	u, gs, root, err := s.actorIn(ctx, a)
	if err != nil {
		return nil, err
	}
	ss, err := s.scheduleStore()
	if err != nil {
		return nil, err
	}
	es, err := s.db.Schedule(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	counts, err := ss.ScheduleFileCounts(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	v := &ScheduleView{Editable: keeper(gs, root), Lines: make([]ScheduleLine, len(es))}
	for i, e := range es {
		v.Lines[i] = ScheduleLine{Entry: e, Version: ScheduleVersion(e), Files: counts[e.Code]}
	}
	return v, nil
}

// ScheduleEntryDetail returns one entry with its version, file count and
// history. ENOTFOUND when the organization has no such entry.
func (s *Service) ScheduleEntryDetail(ctx context.Context, a workflow.Actor, code string) (*ScheduleEntryView, error) {
	u, gs, root, err := s.actorIn(ctx, a)
	if err != nil {
		return nil, err
	}
	if validCode(code) != nil {
		return nil, document.Errorf(document.ENOTFOUND, "schedule entry %s not found", code)
	}
	ss, err := s.scheduleStore()
	if err != nil {
		return nil, err
	}
	e, err := s.db.ScheduleEntry(ctx, u.OrgID, code)
	if err != nil {
		return nil, err
	}
	counts, err := ss.ScheduleFileCounts(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	v := &ScheduleEntryView{ScheduleLine: ScheduleLine{Entry: e, Version: ScheduleVersion(e), Files: counts[code]}, Editable: keeper(gs, root)}
	entries, err := ss.AuditEntriesFor(ctx, AuditObjectSchedule, u.OrgID+"/"+code)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, ae := range entries {
		var ch struct {
			Before, After *struct {
				Title     string
				Permanent bool
				Years     int
				Source    string
			}
		}
		if err := json.Unmarshal(ae.Change, &ch); err != nil {
			continue // not written by this package
		}
		c := ScheduleChange{Seq: ae.Seq, At: ae.Time, ActorID: ae.Actor, Action: ae.Action}
		if ch.Before != nil {
			c.Before = &document.ScheduleEntry{OrgID: u.OrgID, Code: code, Title: ch.Before.Title, Permanent: ch.Before.Permanent, Years: ch.Before.Years, Source: ch.Before.Source}
		}
		if ch.After != nil {
			c.After = &document.ScheduleEntry{OrgID: u.OrgID, Code: code, Title: ch.After.Title, Permanent: ch.After.Permanent, Years: ch.After.Years, Source: ch.After.Source}
		}
		name, ok := names[ae.Actor]
		if !ok {
			name = ae.Actor
			if p, err := s.db.User(ctx, ae.Actor); err == nil {
				name = p.FullName
			}
			names[ae.Actor] = name
		}
		c.Actor = name
		v.History = append(v.History, c)
	}
	sort.Slice(v.History, func(i, j int) bool { return v.History[i].Seq > v.History[j].Seq })
	return v, nil
}

// SaveScheduleEntry adds or changes one entry, compared against
// in.IfMatch, and audits the change with what the entry was before. An
// edit that changes nothing is not written. Files keep the period they
// took. Errors: EFORBIDDEN for anyone but an archivist or administrator
// of the organization, EINVALID (with the field) for a bad value,
// ECONFLICT when the entry changed since the editor read it (field
// "version") or an addition's code exists (field "code"), ENOTFOUND when a
// change's entry is gone.
func (s *Service) SaveScheduleEntry(ctx context.Context, a workflow.Actor, in ScheduleEdit) (*ScheduleLine, error) {
	u, gs, root, err := s.actorIn(ctx, a)
	if err != nil {
		return nil, err
	}
	if !keeper(gs, root) {
		return nil, forbidden("editing the retention schedule")
	}
	ss, err := s.scheduleStore()
	if err != nil {
		return nil, err
	}
	after, err := in.entry(u.OrgID)
	if err != nil {
		return nil, err
	}
	cur, err := s.current(ctx, u.OrgID, after.Code)
	if err != nil {
		return nil, err
	}
	if err := checkPrecondition(in.IfMatch, cur, after.Code); err != nil {
		return nil, err
	}
	if cur != nil && ScheduleVersion(cur) == ScheduleVersion(after) {
		return s.line(ctx, ss, after)
	}
	e, err := scheduleAuditEntry(a, u, AuditSchedulePut, cur, after, after.Code)
	if err != nil {
		return nil, err
	}
	if err := ss.ChangeScheduleEntry(ctx, cur, after, e); err != nil {
		return nil, err
	}
	return s.line(ctx, ss, after)
}

func (s *Service) line(ctx context.Context, ss ScheduleStore, e *document.ScheduleEntry) (*ScheduleLine, error) {
	counts, err := ss.ScheduleFileCounts(ctx, e.OrgID)
	if err != nil {
		return nil, err
	}
	return &ScheduleLine{Entry: e, Version: ScheduleVersion(e), Files: counts[e.Code]}, nil
}

// RemoveScheduleEntry removes an entry, compared against ifMatch (its
// Version, ScheduleExists or ""), and audits it. Files keep the period
// they took. Errors as SaveScheduleEntry; ENOTFOUND when there is no such
// entry.
func (s *Service) RemoveScheduleEntry(ctx context.Context, a workflow.Actor, code, ifMatch string) error {
	u, gs, root, err := s.actorIn(ctx, a)
	if err != nil {
		return err
	}
	if !keeper(gs, root) {
		return forbidden("editing the retention schedule")
	}
	ss, err := s.scheduleStore()
	if err != nil {
		return err
	}
	if validCode(code) != nil {
		return document.Errorf(document.ENOTFOUND, "schedule entry %s not found", code)
	}
	cur, err := s.current(ctx, u.OrgID, code)
	if err != nil {
		return err
	}
	if cur == nil {
		return document.Errorf(document.ENOTFOUND, "schedule entry %s not found", code)
	}
	if ifMatch == ScheduleAbsent {
		return document.Errorf(document.EINVALID, "a removal is made against the entry's version")
	}
	if err := checkPrecondition(ifMatch, cur, code); err != nil {
		return err
	}
	e, err := scheduleAuditEntry(a, u, AuditScheduleDelete, cur, nil, code)
	if err != nil {
		return err
	}
	return ss.ChangeScheduleEntry(ctx, cur, nil, e)
}
