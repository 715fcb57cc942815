package workflow

import (
	"context"
	"encoding/json"
	"errors"

	"vanban/internal/audit"
	"vanban/internal/document"
)

// The records side (internal/archive) makes the proof of an archived
// document last: it raises the final PDF to PAdES B-LTA before the state
// changes, and later adds document time-stamps. These are the use-case
// steps it needs; the network work happens between them, outside any
// transaction.

// errDryRun rolls back a transaction that only checked.
var errDryRun = errors.New("workflow: dry run")

// CheckArchive answers whether a may archive docID now, without changing
// anything, and returns the document and its newest version (nil when it
// has none), so the expensive preparation runs only for a permitted
// archive. ArchiveWith checks again in its own transaction.
func (s *Service[T]) CheckArchive(ctx context.Context, a Actor, docID string) (*document.Document, *document.Version, error) {
	var (
		doc    *document.Document
		latest *document.Version
	)
	err := s.db.WithTx(ctx, func(tx T) error {
		c, err := s.begin(ctx, tx, a, docID)
		if err != nil {
			return err
		}
		if err := c.move(document.ActionArchive); err != nil {
			return err
		}
		if err := c.requireRole(document.RoleArchivist, "archiving"); err != nil {
			return err
		}
		d, err := tx.Document(ctx, docID) // as stored, before move
		if err != nil {
			return err
		}
		doc = d
		vs, err := tx.Versions(ctx, docID)
		if err != nil {
			return err
		}
		if len(vs) > 0 {
			latest = vs[len(vs)-1]
		}
		return errDryRun
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return doc, latest, err
}

// ArchiveWith is Archive that also stores f (when f.BlobKey is set) as the
// archived version, made from basedOn (the version f was derived from:
// if another version was added since, the archive is refused as a
// conflict rather than archiving a PDF that is no longer the newest), and
// records note in the audit entry.
func (s *Service[T]) ArchiveWith(ctx context.Context, a Actor, docID string, basedOn int, f File, note map[string]any) (*document.Document, error) {
	return s.run(ctx, a, docID, func(c *call[T]) error {
		if err := c.move(document.ActionArchive); err != nil {
			return err
		}
		if err := c.requireRole(document.RoleArchivist, "archiving"); err != nil {
			return err
		}
		if f.BlobKey != "" {
			latest, err := c.tx.LatestVersion(c.ctx, docID)
			if err != nil {
				return err
			}
			if latest.Seq != basedOn {
				return document.Errorf(document.ECONFLICT, "version %d was added while archiving from version %d; try again", latest.Seq, basedOn)
			}
			if _, err := c.addVersion(f, document.VersionArchived); err != nil {
				return err
			}
		}
		for k, v := range note {
			c.change[k] = v
		}
		return c.save(string(document.ActionArchive))
	})
}

// AddRenewal stores f, a later document time-stamp over the archived PDF
// basedOn, as a new version of an archived document, with an audit entry
// by the system component actor (e.g. "system:records"), not a person;
// the version row names versionBy (the archivist who archived it), as
// every version names a user.
// The version is refused as a conflict when basedOn is no longer the
// newest, so two renewals never fork the document.
func (s *Service[T]) AddRenewal(ctx context.Context, actor, versionBy, docID string, basedOn int, f File, note map[string]any) (*document.Version, error) {
	var v *document.Version
	err := s.db.WithTx(ctx, func(tx T) error {
		doc, err := tx.Document(ctx, docID)
		if err != nil {
			return err
		}
		if doc.State != document.StateArchived {
			return document.Errorf(document.ECONFLICT, "document %s is %s, not archived", docID, doc.State)
		}
		latest, err := tx.LatestVersion(ctx, docID)
		if err != nil {
			return err
		}
		if latest.Seq != basedOn {
			return document.Errorf(document.ECONFLICT, "version %d was added since renewal started from %d", latest.Seq, basedOn)
		}
		v = f.version(docID, document.VersionRenewed, versionBy)
		if err := tx.AddVersion(ctx, v); err != nil {
			return err
		}
		change := map[string]any{"version": map[string]any{"seq": v.Seq, "kind": v.Kind, "sha256": v.SHA256, "size": v.Size}}
		for k, val := range note {
			change[k] = val
		}
		b, err := json.Marshal(change)
		if err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Entry{Time: s.now(), Actor: actor, Action: "document.renew",
			ObjectType: "document", ObjectID: docID, Change: b})
		return err
	})
	return v, err
}
