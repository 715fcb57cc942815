// Package records keeps an organization's files (hồ sơ): the yearly file
// list with each file's retention period, taken from the retention
// schedule of Circular 10/2022/TT-BNV (data its administrators load and
// edit), documents filed without being copied, closing a file (which
// archives its documents), exporting a file as one package (each
// document's final signed PDF in time order, an index as PDF, metadata as
// XML per Circular 02/2019/TT-BNV, a sealed manifest), and telling the
// archivist thirty days before a closed file is due at the archive.
package records

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"vanban/internal/document"
	"vanban/internal/workflow"
	"vanban/storage"
)

// Store is what the use cases need of the database (*store.DB).
type Store interface {
	Organization(ctx context.Context, id string) (*document.Organization, error)
	Unit(ctx context.Context, id string) (*document.Unit, error)
	User(ctx context.Context, id string) (*document.User, error)
	Grants(ctx context.Context, userID string) (document.Grants, error)
	DocumentType(ctx context.Context, code string) (*document.DocumentType, error)
	Versions(ctx context.Context, documentID string) ([]*document.Version, error)

	Schedule(ctx context.Context, orgID string) ([]*document.ScheduleEntry, error)
	ScheduleEntry(ctx context.Context, orgID, code string) (*document.ScheduleEntry, error)

	CreateFile(ctx context.Context, f *document.RecordFile) error
	File(ctx context.Context, id string) (*document.RecordFile, error)
	Files(ctx context.Context, q document.FileQuery) ([]*document.RecordFile, error)
	AddFileDocument(ctx context.Context, fileID, documentID, userID string) error
	RemoveFileDocument(ctx context.Context, fileID, documentID string) error
	FileDocuments(ctx context.Context, fileID string) ([]*document.Document, error)
	CloseFile(ctx context.Context, fileID string, closedAt, endDate, handoverDue time.Time) error
	FilesDueForHandover(ctx context.Context, orgID string, before time.Time, unnotified bool) ([]*document.RecordFile, error)
	MarkFileNotified(ctx context.Context, f *document.RecordFile, at time.Time, eventType string, payload []byte) (bool, error)
}

// Documents authorizes and reads documents (*workflow.Service).
type Documents interface {
	Get(ctx context.Context, a workflow.Actor, docID string) (*workflow.View, error)
	Archive(ctx context.Context, a workflow.Actor, docID string) (*document.Document, error)
}

// Sealer signs a manifest for an organization (CMS by its seal).
type Sealer interface {
	Seal(ctx context.Context, orgID string, content []byte) ([]byte, error)
}

// Service runs the records use cases.
type Service struct {
	db     Store
	docs   Documents
	blobs  storage.Store
	sealer Sealer
	log    *slog.Logger
	// Now is the clock.
	Now func() time.Time
	// HandoverAfter is how long after closing a file is due at the archive
	// (default one year: Law on Archives 2011, art. 11); NoticeBefore how
	// long before that the archivist is told (default 30 days).
	HandoverAfter, NoticeBefore time.Duration
}

// New returns a Service.
func New(db Store, docs Documents, blobs storage.Store, sealer Sealer, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, docs: docs, blobs: blobs, sealer: sealer, log: log, Now: time.Now,
		HandoverAfter: 365 * 24 * time.Hour, NoticeBefore: 30 * 24 * time.Hour}
}

// EventHandoverDue is the webhook event of a file due at the archive.
const EventHandoverDue = "file.handover_due"

// actorIn loads the actor, their grants and the organization's root unit.
func (s *Service) actorIn(ctx context.Context, a workflow.Actor) (*document.User, document.Grants, *document.Unit, error) {
	u, err := s.db.User(ctx, a.UserID)
	if err != nil || u.Disabled {
		return nil, nil, nil, document.Errorf(document.EFORBIDDEN, "unknown or disabled user")
	}
	gs, err := s.db.Grants(ctx, u.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	root, err := s.db.Unit(ctx, u.OrgID)
	if err != nil {
		return nil, nil, nil, err
	}
	return u, gs, root, nil
}

// keeper: the organization's archivists (and its administrators) keep the
// file list.
func keeper(gs document.Grants, root *document.Unit) bool {
	return gs.Allows(document.RoleArchivist, *root) || gs.Allows(document.RoleAdmin, *root)
}

func forbidden(what string) error {
	return document.Errorf(document.EFORBIDDEN, "%s needs the archivist role of the organization", what)
}

// file loads a file the actor may see: its organization's, and for
// anyone but a keeper only files of a unit they hold a role in.
func (s *Service) file(ctx context.Context, a workflow.Actor, id string) (*document.RecordFile, *document.User, bool, error) {
	u, gs, root, err := s.actorIn(ctx, a)
	if err != nil {
		return nil, nil, false, err
	}
	f, err := s.db.File(ctx, id)
	if err != nil {
		return nil, nil, false, err
	}
	if f.OrgID != u.OrgID {
		return nil, nil, false, document.Errorf(document.ENOTFOUND, "file %s not found", id)
	}
	isKeeper := keeper(gs, root)
	if !isKeeper && f.ResponsibleID != u.ID {
		unit, err := s.db.Unit(ctx, f.UnitID)
		if err != nil || !gs.Covers(*unit) {
			return nil, nil, false, document.Errorf(document.ENOTFOUND, "file %s not found", id)
		}
	}
	return f, u, isKeeper, nil
}

// Schedule returns the actor's organization's retention schedule.
func (s *Service) Schedule(ctx context.Context, a workflow.Actor) ([]*document.ScheduleEntry, error) {
	u, _, _, err := s.actorIn(ctx, a)
	if err != nil {
		return nil, err
	}
	return s.db.Schedule(ctx, u.OrgID)
}

// LoadSeedSchedule adds the seed entries (SeedSchedule) the organization's
// schedule lacks, each audited; entries already there, perhaps edited,
// are kept. It returns how many were added.
func (s *Service) LoadSeedSchedule(ctx context.Context, a workflow.Actor) (int, error) {
	u, gs, root, err := s.actorIn(ctx, a)
	if err != nil {
		return 0, err
	}
	if !keeper(gs, root) {
		return 0, forbidden("loading the retention schedule")
	}
	ss, err := s.scheduleStore()
	if err != nil {
		return 0, err
	}
	have, err := s.db.Schedule(ctx, u.OrgID)
	if err != nil {
		return 0, err
	}
	known := map[string]bool{}
	for _, e := range have {
		known[e.Code] = true
	}
	n := 0
	for _, e := range SeedSchedule {
		if known[e.Code] {
			continue
		}
		e.OrgID = u.OrgID
		ae, err := scheduleAuditEntry(a, u, AuditSchedulePut, nil, &e, e.Code)
		if err != nil {
			return n, err
		}
		err = ss.ChangeScheduleEntry(ctx, nil, &e, ae)
		if document.ErrorCode(err) == document.ECONFLICT {
			continue // added meanwhile by someone else: kept
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// PutScheduleEntry adds or replaces one entry of the schedule, without a
// version precondition (SaveScheduleEntry with IfMatch "").
func (s *Service) PutScheduleEntry(ctx context.Context, a workflow.Actor, e document.ScheduleEntry) (*document.ScheduleEntry, error) {
	l, err := s.SaveScheduleEntry(ctx, a, ScheduleEdit{Code: e.Code, Title: e.Title, Permanent: e.Permanent, Years: e.Years, Source: e.Source})
	if err != nil {
		return nil, err
	}
	return l.Entry, nil
}

// DeleteScheduleEntry removes an entry (RemoveScheduleEntry without a
// version precondition); files keep the period they took.
func (s *Service) DeleteScheduleEntry(ctx context.Context, a workflow.Actor, code string) error {
	return s.RemoveScheduleEntry(ctx, a, code, "")
}

// FileInput creates a file. The retention comes from the schedule entry
// ScheduleCode unless Permanent or Years override it.
type FileInput struct {
	Year          int
	Notation      string
	Title         string
	UnitID        string
	ResponsibleID string
	ScheduleCode  string
	Permanent     bool
	Years         int
	StartDate     time.Time
}

// CreateFile adds a file to the organization's list, numbered next in its
// year.
func (s *Service) CreateFile(ctx context.Context, a workflow.Actor, in FileInput) (*document.RecordFile, error) {
	u, gs, root, err := s.actorIn(ctx, a)
	if err != nil {
		return nil, err
	}
	if !keeper(gs, root) {
		return nil, forbidden("creating a file")
	}
	unit, err := s.db.Unit(ctx, in.UnitID)
	if err != nil || unit.OrgID != u.OrgID {
		return nil, document.Errorf(document.EINVALID, "unit %q is not a unit of the organization", in.UnitID)
	}
	resp, err := s.db.User(ctx, in.ResponsibleID)
	if err != nil || resp.OrgID != u.OrgID {
		return nil, document.Errorf(document.EINVALID, "responsible person %q is not in the organization", in.ResponsibleID)
	}
	f := &document.RecordFile{OrgID: u.OrgID, Year: in.Year, Notation: strings.TrimSpace(in.Notation), Title: strings.TrimSpace(in.Title),
		UnitID: unit.ID, ResponsibleID: resp.ID, ScheduleCode: in.ScheduleCode, Permanent: in.Permanent, Years: in.Years,
		StartDate: in.StartDate, CreatedBy: u.ID}
	if f.StartDate.IsZero() {
		f.StartDate = time.Date(in.Year, time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	if in.ScheduleCode != "" && !in.Permanent && in.Years == 0 {
		e, err := s.db.ScheduleEntry(ctx, u.OrgID, in.ScheduleCode)
		if document.ErrorCode(err) == document.ENOTFOUND {
			return nil, document.Errorf(document.EINVALID, "schedule entry %q does not exist", in.ScheduleCode)
		}
		if err != nil {
			return nil, err
		}
		f.Permanent, f.Years = e.Permanent, e.Years
	}
	if f.Permanent {
		f.Years = 0
	}
	if err := s.db.CreateFile(ctx, f); err != nil {
		return nil, err
	}
	return f, nil
}

// Files lists the files the actor may see, in time order. Keepers see the
// whole list; others the files of their units and those they keep.
func (s *Service) Files(ctx context.Context, a workflow.Actor, q document.FileQuery) ([]*document.RecordFile, error) {
	u, gs, root, err := s.actorIn(ctx, a)
	if err != nil {
		return nil, err
	}
	q.OrgID = u.OrgID
	files, err := s.db.Files(ctx, q)
	if err != nil || keeper(gs, root) {
		return files, err
	}
	out := files[:0]
	for _, f := range files {
		if f.ResponsibleID == u.ID {
			out = append(out, f)
			continue
		}
		if unit, err := s.db.Unit(ctx, f.UnitID); err == nil && gs.Covers(*unit) {
			out = append(out, f)
		}
	}
	return out, nil
}

// FileView is a file with its documents in time order.
type FileView struct {
	File      *document.RecordFile
	Documents []*document.Document
}

// File returns a file the actor may see with its documents.
func (s *Service) File(ctx context.Context, a workflow.Actor, id string) (*FileView, error) {
	f, _, _, err := s.file(ctx, a, id)
	if err != nil {
		return nil, err
	}
	docs, err := s.db.FileDocuments(ctx, id)
	if err != nil {
		return nil, err
	}
	return &FileView{File: f, Documents: docs}, nil
}

// AddDocument files a document the actor may see into an open file. The
// file's keeper or responsible person does it.
func (s *Service) AddDocument(ctx context.Context, a workflow.Actor, fileID, docID string) error {
	f, u, isKeeper, err := s.file(ctx, a, fileID)
	if err != nil {
		return err
	}
	if !isKeeper && f.ResponsibleID != u.ID {
		return document.Errorf(document.EFORBIDDEN, "only the archivist or the person keeping the file adds documents to it")
	}
	v, err := s.docs.Get(ctx, a, docID) // the document must be visible to the actor
	if err != nil {
		return err
	}
	if v.Document.OrgID != f.OrgID {
		return document.Errorf(document.ENOTFOUND, "document %s not found", docID)
	}
	return s.db.AddFileDocument(ctx, fileID, docID, u.ID)
}

// RemoveDocument takes a document out of an open file.
func (s *Service) RemoveDocument(ctx context.Context, a workflow.Actor, fileID, docID string) error {
	f, u, isKeeper, err := s.file(ctx, a, fileID)
	if err != nil {
		return err
	}
	if !isKeeper && f.ResponsibleID != u.ID {
		return document.Errorf(document.EFORBIDDEN, "only the archivist or the person keeping the file removes documents from it")
	}
	return s.db.RemoveFileDocument(ctx, fileID, docID)
}

// archivable are the states from which a document can be archived, and
// the state it is in once it is.
var archivable = map[document.State]bool{document.StateIssued: true, document.StateCompleted: true}

// Close closes a file: every document in it must be issued, completed or
// archived already; the ones not yet archived are archived (B-LTA and
// retention, by the actor, who must be an archivist). A failure leaves
// the file open, with the documents archived so far archived; closing
// again goes on from there.
func (s *Service) Close(ctx context.Context, a workflow.Actor, fileID string) (*document.RecordFile, error) {
	f, _, isKeeper, err := s.file(ctx, a, fileID)
	if err != nil {
		return nil, err
	}
	if !isKeeper {
		return nil, forbidden("closing a file")
	}
	if f.Closed {
		return nil, document.Errorf(document.ECONFLICT, "file %s is already closed", f.Notation)
	}
	docs, err := s.db.FileDocuments(ctx, fileID)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		if !archivable[d.State] && d.State != document.StateArchived {
			return nil, document.Errorf(document.ECONFLICT, "document %q is %s: a file closes when all its documents are issued or completed", d.Subject, d.State)
		}
	}
	for _, d := range docs {
		if d.State == document.StateArchived {
			continue
		}
		if _, err := s.docs.Archive(ctx, a, d.ID); err != nil {
			return nil, fmt.Errorf("archiving %q: %w", d.Subject, err)
		}
	}
	now := s.Now().UTC()
	end := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if end.Before(f.StartDate) {
		end = f.StartDate
	}
	if err := s.db.CloseFile(ctx, fileID, now, end, now.Add(s.HandoverAfter)); err != nil {
		return nil, err
	}
	return s.db.File(ctx, fileID)
}

// HandoverDue lists the closed files of the actor's organization due at
// the archive within the notice period, soonest first: the archivist's
// page.
func (s *Service) HandoverDue(ctx context.Context, a workflow.Actor) ([]*document.RecordFile, error) {
	u, gs, root, err := s.actorIn(ctx, a)
	if err != nil {
		return nil, err
	}
	if !keeper(gs, root) {
		return nil, forbidden("the hand-over list")
	}
	return s.db.FilesDueForHandover(ctx, u.OrgID, s.Now().Add(s.NoticeBefore), false)
}

// NotifyHandovers tells, once per file, that a closed file is due at the
// archive within the notice period: a webhook event (EventHandoverDue)
// for the organization's systems and a log line. It returns how many
// files were notified.
func (s *Service) NotifyHandovers(ctx context.Context) (int, error) {
	now := s.Now().UTC()
	files, err := s.db.FilesDueForHandover(ctx, "", now.Add(s.NoticeBefore), true)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		payload, err := json.Marshal(map[string]any{"event": EventHandoverDue, "file_id": f.ID, "year": f.Year, "number": f.Number,
			"notation": f.Notation, "title": f.Title, "handover_due": f.HandoverDue, "responsible_id": f.ResponsibleID})
		if err != nil {
			return n, err
		}
		marked, err := s.db.MarkFileNotified(ctx, f, now, EventHandoverDue, payload)
		if err != nil {
			return n, err
		}
		if marked {
			n++
			s.log.Info("file due at the archive", "file", f.ID, "notation", f.Notation, "due", f.HandoverDue)
		}
	}
	return n, nil
}

// RunNotifications checks for files due at the archive every interval.
func (s *Service) RunNotifications(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.NotifyHandovers(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("hand-over notifications failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RetentionOf is the archive's retention policy: a document takes the
// longest period of the files it belongs to (permanent if any is); a
// document in no file is kept permanently, the safe default.
func RetentionOf(files interface {
	FileRetentionOf(ctx context.Context, documentID string) (permanent bool, years int, ok bool, err error)
}) func(ctx context.Context, doc *document.Document) (bool, int, error) {
	return func(ctx context.Context, doc *document.Document) (bool, int, error) {
		permanent, years, ok, err := files.FileRetentionOf(ctx, doc.ID)
		if err != nil {
			return false, 0, err
		}
		if !ok {
			return true, 0, nil
		}
		return permanent, years, nil
	}
}
