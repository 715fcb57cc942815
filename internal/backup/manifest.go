// Package backup writes and restores a vanban installation as one archive:
// a tar stream whose first entry, manifest.json, lists every other entry with
// its size and SHA-256, followed by a consistent snapshot of the SQLite
// database, the files of the data directory (the secret key, the
// development keys, the audit anchors) and every stored object.
//
// Write takes the database snapshot with VACUUM INTO, so a server may keep
// running; every object is read through the blob store and checked against
// the digest the store recorded and the one the database recorded. Restore
// refuses a data directory that is not empty, checks the manifest before it
// writes anything, stages everything in a hidden directory inside the
// target, checks each entry against the manifest and the restored database
// against itself (integrity, references, the audit chain under the restored
// key), and only then moves it into place: on any failure nothing is left.
package backup

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"vanban/storage"
)

// Format names the archive layout; Restore refuses any other.
const Format = "vanban-backup/1"

// Names in the archive.
const (
	manifestName = "manifest.json"
	databaseName = "database/vanban.db"
	dataPrefix   = "data/"
	blobPrefix   = "blobs/"

	// maxManifest bounds the manifest Restore reads into memory (about a
	// million objects).
	maxManifest = 512 << 20
)

// Kinds of entries.
const (
	KindDatabase = "database" // the SQLite snapshot, restored as <data-dir>/vanban.db
	KindFile     = "file"     // a file of the data directory, restored at its path
	KindBlob     = "blob"     // a stored object, restored into <data-dir>/blobs
)

// Secret key sources recorded in the manifest.
const (
	SecretInArchive     = "archive"     // data/secret.key is in the archive
	SecretInEnvironment = "environment" // VANBAN_SECRET_KEY: keep it; it is not in the archive
)

// Manifest describes an archive.
type Manifest struct {
	Format    string    `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Vanban is the version of the binary that wrote it.
	Vanban string `json:"vanban"`
	// Migrations are the schema versions of the database snapshot.
	Migrations []string `json:"migrations"`
	// SecretKey says where the server's secret key is (SecretIn...).
	SecretKey string `json:"secret_key"`
	// AuditHeadSeq is the last audit entry in the snapshot.
	AuditHeadSeq int64   `json:"audit_head_seq"`
	Entries      []Entry `json:"entries"`
}

// Entry is one file of the archive after the manifest, in archive order.
type Entry struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Mode is the permission bits of a file.
	Mode uint32 `json:"mode,omitempty"`
	// Key, ContentType and RetainUntil describe a stored object.
	Key         string    `json:"key,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
}

// Stats counts what a manifest holds.
func (m *Manifest) Stats() (files, blobs int, blobBytes int64) {
	for _, e := range m.Entries {
		switch e.Kind {
		case KindFile:
			files++
		case KindBlob:
			blobs++
			blobBytes += e.Size
		}
	}
	return
}

// FormatError is an archive that is not a valid vanban backup or does not
// match its manifest.
type FormatError struct {
	Name   string // the entry, "" for the archive as a whole
	Reason string
}

func (e *FormatError) Error() string {
	if e.Name == "" {
		return "backup archive: " + e.Reason
	}
	return fmt.Sprintf("backup archive: %s: %s", e.Name, e.Reason)
}

// ErrNotEmpty: Restore's target data directory holds something.
var ErrNotEmpty = errors.New("the data directory is not empty")

func formatErr(name, format string, args ...any) error {
	return &FormatError{Name: name, Reason: fmt.Sprintf(format, args...)}
}

// dataPath checks the data-directory path of a file entry: relative,
// slash-separated, no empty, dot or dot-prefixed segments (temporary files
// and the staging directory), and not where the database, the blobs or the
// cache go.
func dataPath(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.Contains(rel, "\\") || path.Clean(rel) != rel {
		return errors.New("not a clean relative path")
	}
	for seg := range strings.SplitSeq(rel, "/") {
		if seg == "" || seg[0] == '.' {
			return fmt.Errorf("segment %q", seg)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f {
				return errors.New("control character")
			}
		}
	}
	top, _, _ := strings.Cut(rel, "/")
	switch top {
	case "vanban.db", "vanban.db-wal", "vanban.db-shm", "vanban.db-journal", "blobs", "cache":
		return fmt.Errorf("%s is restored from its own entries", top)
	}
	return nil
}

// check validates the manifest as a whole before anything is read past it:
// the format, one database, well-formed names and digests, no name twice,
// content keys that match their digests.
func (m *Manifest) check() error {
	if m.Format != Format {
		return formatErr(manifestName, "format %q, want %q (written by a different vanban?)", m.Format, Format)
	}
	if m.SecretKey != SecretInArchive && m.SecretKey != SecretInEnvironment {
		return formatErr(manifestName, "secret_key %q", m.SecretKey)
	}
	seen := map[string]bool{manifestName: true}
	databases := 0
	secretFile := false
	for i, e := range m.Entries {
		if seen[e.Name] {
			return formatErr(e.Name, "listed twice in the manifest")
		}
		seen[e.Name] = true
		if sum, err := hex.DecodeString(e.SHA256); err != nil || len(sum) != 32 {
			return formatErr(e.Name, "manifest entry %d has no valid SHA-256", i)
		}
		if e.Size < 0 {
			return formatErr(e.Name, "negative size")
		}
		switch e.Kind {
		case KindDatabase:
			if e.Name != databaseName {
				return formatErr(e.Name, "the database must be %s", databaseName)
			}
			databases++
		case KindFile:
			rel, ok := strings.CutPrefix(e.Name, dataPrefix)
			if !ok {
				return formatErr(e.Name, "a file entry must be under %s", dataPrefix)
			}
			if err := dataPath(rel); err != nil {
				return formatErr(e.Name, "unsafe path: %v", err)
			}
			if e.Mode&^0o777 != 0 {
				return formatErr(e.Name, "mode %o", e.Mode)
			}
			secretFile = secretFile || rel == "secret.key"
		case KindBlob:
			if e.Name != blobPrefix+e.Key {
				return formatErr(e.Name, "a blob entry must be named %s<key>", blobPrefix)
			}
			if err := storage.ValidateKey(e.Key); err != nil {
				return formatErr(e.Name, "%v", err)
			}
			if sum, ok := storage.ParseContentKey(e.Key); ok && hex.EncodeToString(sum) != e.SHA256 {
				return formatErr(e.Name, "its content key does not match its SHA-256 in the manifest")
			}
		default:
			return formatErr(e.Name, "unknown kind %q", e.Kind)
		}
	}
	if databases != 1 {
		return formatErr(manifestName, "%d database entries, want 1", databases)
	}
	if m.Entries[0].Kind != KindDatabase {
		return formatErr(manifestName, "the database must be the first entry")
	}
	if m.SecretKey == SecretInArchive && !secretFile {
		return formatErr(manifestName, "says the secret key is in the archive but lists no data/secret.key")
	}
	return nil
}

func marshalManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
