// Package hub is vanban's exchange hub: a small document interconnection
// axis that routes edXML packages and status messages between agencies by
// OrganId, for offices without access to the national axis, for
// development, and for tests. It is a separate service with storage of its
// own (an SQLite database and one fsync'd file per message under Dir), not
// part of vanban's database.
//
// Each connected system authenticates with its id and secret (HTTP Basic)
// and acts for the OrganIds it owns. A message is accepted only once its
// bytes and its row are on disk; it stays listed for each recipient until
// that recipient acknowledges it. A send repeated with the same
// Idempotency-Key returns the first message's id, so a client retrying
// after a lost answer (or a hub killed between storing and answering)
// delivers once. The protocol is described in exchange/hubclient.
package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the hub's own database

	"vanban/exchange"
	"vanban/exchange/edxml"
)

// System is a connected document system.
type System struct {
	ID     string   `json:"id"`
	Secret string   `json:"secret"`
	Organs []string `json:"organs"` // OrganIds it acts for; "*" (development only) for any organ no other system owns
}

// Config configures a hub.
type Config struct {
	Dir      string            // database and message files
	Systems  []System          // who may connect
	Agencies []exchange.Agency // names for the agency list; organs of systems without an entry are listed by id
	// AdminSecret protects the page at / (user "admin"); empty leaves it open,
	// which suits the embedded development hub only.
	AdminSecret string
	Limits      edxml.Limits
	Log         *slog.Logger
}

// Hub is a running hub.
type Hub struct {
	cfg     Config
	db      *sql.DB
	msgDir  string
	log     *slog.Logger
	mu      sync.RWMutex
	systems map[string]System
	owner   map[string]string // OrganId -> system id
	wild    string            // system owning "*", if any
	// polled are the organs the "*" system asked for, so that a
	// development hub can list the agencies it serves without a list.
	polled map[string]bool
}

const schema = `
CREATE TABLE IF NOT EXISTS messages (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	from_organ  TEXT NOT NULL,
	from_system TEXT NOT NULL,
	idem_key    TEXT NOT NULL,
	document_id TEXT NOT NULL,
	status_code TEXT NOT NULL,
	subject     TEXT NOT NULL,
	size        INTEGER NOT NULL,
	sha256      TEXT NOT NULL,
	created     TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_idem ON messages(from_system, idem_key) WHERE idem_key <> '';
CREATE INDEX IF NOT EXISTS messages_created ON messages(created);
CREATE TABLE IF NOT EXISTS deliveries (
	message_id TEXT NOT NULL REFERENCES messages(id),
	to_organ   TEXT NOT NULL,
	acked      TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (message_id, to_organ)
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(to_organ, acked);
`

// Open opens (creating) the hub's storage under cfg.Dir.
func Open(cfg Config) (*Hub, error) {
	if cfg.Dir == "" {
		return nil, errors.New("hub: Dir is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{cfg: cfg, msgDir: filepath.Join(cfg.Dir, "messages"), log: cfg.Log}
	if err := os.MkdirAll(h.msgDir, 0o750); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	if err := h.SetSystems(cfg.Systems); err != nil {
		return nil, err
	}
	dsn := "file:" + filepath.Join(cfg.Dir, "hub.db") +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(30000)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serializes anyway, and this avoids SQLITE_BUSY
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("hub: creating schema: %w", err)
	}
	h.db = db
	h.removeOrphans()
	return h, nil
}

// SetSystems replaces the connected systems (e.g. when an embedded vanban
// gains an organization).
func (h *Hub) SetSystems(systems []System) error {
	byID := map[string]System{}
	owner := map[string]string{}
	wild := ""
	for _, s := range systems {
		if s.ID == "" || s.Secret == "" {
			return errors.New("hub: every system needs an id and a secret")
		}
		if _, dup := byID[s.ID]; dup {
			return fmt.Errorf("hub: system %q listed twice", s.ID)
		}
		byID[s.ID] = s
		for _, o := range s.Organs {
			if o == "*" {
				wild = s.ID
				continue
			}
			if !edxml.ValidOrganId(o) {
				return fmt.Errorf("hub: system %q: %q is not an identifier code", s.ID, o)
			}
			if prev, dup := owner[o]; dup {
				return fmt.Errorf("hub: organ %s belongs to both %q and %q", o, prev, s.ID)
			}
			owner[o] = s.ID
		}
	}
	h.mu.Lock()
	h.systems, h.owner, h.wild = byID, owner, wild
	h.mu.Unlock()
	return nil
}

// Close closes the database.
func (h *Hub) Close() error { return h.db.Close() }

// removeOrphans deletes message files whose row never got written: the
// hub died between the fsync of the file and the commit, and the sender
// got no answer, so it will send again.
func (h *Hub) removeOrphans() {
	entries, err := os.ReadDir(h.msgDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			os.Remove(filepath.Join(h.msgDir, name))
			continue
		}
		id := strings.TrimSuffix(name, ".edxml")
		var n int
		if h.db.QueryRow(`SELECT COUNT(*) FROM messages WHERE id = ?`, id).Scan(&n) == nil && n == 0 {
			os.Remove(filepath.Join(h.msgDir, name))
		}
	}
}

// authenticate returns the system of the request's Basic credentials.
func (h *Hub) authenticate(r *http.Request) (System, bool) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return System{}, false
	}
	h.mu.RLock()
	s, found := h.systems[id]
	h.mu.RUnlock()
	want := sha256.Sum256([]byte(s.Secret))
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 || !found {
		return System{}, false
	}
	return s, true
}

// ownerOf returns the system that serves an organ.
func (h *Hub) ownerOf(organ string) (string, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if s, ok := h.owner[organ]; ok {
		return s, true
	}
	if h.wild != "" && edxml.ValidOrganId(organ) {
		return h.wild, true
	}
	return "", false
}

func (h *Hub) owns(s System, organ string) bool {
	o, ok := h.ownerOf(organ)
	return ok && o == s.ID
}

// Agencies lists the agencies the hub connects: the configured ones and
// every organ a system owns.
func (h *Hub) Agencies() []exchange.Agency {
	h.mu.RLock()
	defer h.mu.RUnlock()
	seen := map[string]bool{}
	var out []exchange.Agency
	for _, a := range h.cfg.Agencies {
		if !seen[a.OrganId] {
			seen[a.OrganId] = true
			out = append(out, a)
		}
	}
	for o := range h.owner {
		if !seen[o] {
			seen[o] = true
			out = append(out, exchange.Agency{OrganId: o, Name: o})
		}
	}
	for o := range h.polled {
		if !seen[o] {
			seen[o] = true
			out = append(out, exchange.Agency{OrganId: o, Name: o})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OrganId < out[j].OrganId })
	return out
}

// SetAgencies replaces the configured agency names.
func (h *Hub) SetAgencies(as []exchange.Agency) {
	h.mu.Lock()
	h.cfg.Agencies = append([]exchange.Agency(nil), as...)
	h.mu.Unlock()
}

// httpError is an answer with a status and a message.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// accepted is what send stored.
type accepted struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// send stores one message: the body streams to a temporary file while it
// is decoded and checked, the file is fsync'd and renamed, then the rows
// are committed. Only then does the sender get its id.
func (h *Hub) send(ctx context.Context, sys System, kind exchange.MessageKind, from string, to []string, key string, body io.Reader) (accepted, error) {
	if kind != exchange.KindPackage && kind != exchange.KindStatus {
		return accepted{}, fail(http.StatusBadRequest, "X-Exchange-Kind must be package or status")
	}
	if !h.owns(sys, from) {
		return accepted{}, fail(http.StatusForbidden, "system %s does not act for %s", sys.ID, from)
	}
	if len(key) > 200 {
		return accepted{}, fail(http.StatusBadRequest, "Idempotency-Key longer than 200 bytes")
	}
	if key != "" {
		if id, ok := h.byKey(ctx, sys.ID, key); ok {
			io.Copy(io.Discard, io.LimitReader(body, 1<<30))
			return accepted{ID: id, Duplicate: true}, nil
		}
	}
	tmp, err := os.CreateTemp(h.msgDir, ".tmp-")
	if err != nil {
		return accepted{}, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	hash := sha256.New()
	counted := &countWriter{}
	msg, err := edxml.Decode(io.TeeReader(body, io.MultiWriter(tmp, hash, counted)), edxml.DecodeOptions{Limits: h.cfg.Limits})
	if err != nil {
		tmp.Close()
		var e *edxml.Error
		if errors.As(err, &e) && e.Kind != edxml.KindIO {
			return accepted{}, fail(http.StatusUnprocessableEntity, "%v", err)
		}
		return accepted{}, fail(http.StatusBadRequest, "reading the message: %v", err)
	}
	// Whatever follows the root (there may be trailing whitespace) is part of the message too.
	if _, err := io.Copy(io.MultiWriter(tmp, hash, counted), io.LimitReader(body, 1<<20)); err != nil {
		tmp.Close()
		return accepted{}, fail(http.StatusBadRequest, "reading the message: %v", err)
	}
	var documentID, statusCode, subject string
	switch {
	case kind == exchange.KindPackage && msg.Package != nil:
		m := msg.Package.Header.MessageHeader
		if m.From.OrganId != from {
			tmp.Close()
			return accepted{}, fail(http.StatusUnprocessableEntity, "the package is from %s, not %s", m.From.OrganId, from)
		}
		listed := map[string]bool{}
		for _, t := range m.To {
			listed[t.OrganId] = true
		}
		if len(to) == 0 {
			for _, t := range m.To {
				to = append(to, t.OrganId)
			}
		}
		for _, t := range to {
			if !listed[t] {
				tmp.Close()
				return accepted{}, fail(http.StatusUnprocessableEntity, "%s is not a recipient (To) of the package", t)
			}
		}
		documentID, subject = m.DocumentId, m.Subject
	case kind == exchange.KindStatus && msg.Status != nil:
		s := msg.Status
		if s.From.OrganId != from {
			tmp.Close()
			return accepted{}, fail(http.StatusUnprocessableEntity, "the status is from %s, not %s", s.From.OrganId, from)
		}
		if len(to) == 0 {
			to = []string{s.ResponseFor.OrganId}
		}
		documentID, statusCode, subject = s.ResponseFor.DocumentId, string(s.StatusCode), s.Description
	default:
		tmp.Close()
		return accepted{}, fail(http.StatusUnprocessableEntity, "the body is not a %s message", kind)
	}
	to = dedupe(to)
	for _, t := range to {
		if _, ok := h.ownerOf(t); !ok {
			tmp.Close()
			return accepted{}, fail(http.StatusUnprocessableEntity, "no connected system serves %s", t)
		}
	}
	if len(to) == 0 {
		tmp.Close()
		return accepted{}, fail(http.StatusUnprocessableEntity, "no recipient")
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return accepted{}, err
	}
	if err := tmp.Close(); err != nil {
		return accepted{}, err
	}
	id := newID()
	final := filepath.Join(h.msgDir, id+".edxml")
	if err := os.Rename(tmp.Name(), final); err != nil {
		return accepted{}, err
	}
	if err := syncDir(h.msgDir); err != nil {
		return accepted{}, err
	}
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		os.Remove(final)
		return accepted{}, err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO messages (id, kind, from_organ, from_system, idem_key, document_id, status_code, subject, size, sha256, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, string(kind), from, sys.ID, key, documentID, statusCode, truncate(subject, 300), counted.n, hex.EncodeToString(hash.Sum(nil)),
		time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		os.Remove(final)
		if key != "" && strings.Contains(err.Error(), "UNIQUE") {
			if prev, ok := h.byKey(ctx, sys.ID, key); ok {
				return accepted{ID: prev, Duplicate: true}, nil
			}
		}
		return accepted{}, err
	}
	for _, t := range to {
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (message_id, to_organ) VALUES (?, ?)`, id, t); err != nil {
			os.Remove(final)
			return accepted{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		os.Remove(final)
		return accepted{}, err
	}
	h.log.Info("message accepted", "id", id, "kind", kind, "from", from, "to", strings.Join(to, ","), "document_id", documentID, "size", counted.n)
	return accepted{ID: id}, nil
}

func (h *Hub) byKey(ctx context.Context, system, key string) (string, bool) {
	var id string
	err := h.db.QueryRowContext(ctx, `SELECT id FROM messages WHERE from_system = ? AND idem_key = ?`, system, key).Scan(&id)
	return id, err == nil
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		x = strings.TrimSpace(x)
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// pending lists what waits for an organ.
func (h *Hub) pending(ctx context.Context, organ string) ([]exchange.Received, error) {
	h.mu.Lock()
	if _, explicit := h.owner[organ]; !explicit && h.wild != "" {
		if h.polled == nil {
			h.polled = map[string]bool{}
		}
		h.polled[organ] = true
	}
	h.mu.Unlock()
	rows, err := h.db.QueryContext(ctx, `SELECT m.id, m.kind, m.from_organ, m.document_id, m.size, m.created
		FROM deliveries d JOIN messages m ON m.id = d.message_id
		WHERE d.to_organ = ? AND d.acked = '' ORDER BY m.created, m.id LIMIT 1000`, organ)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []exchange.Received{}
	for rows.Next() {
		var r exchange.Received
		var created string
		if err := rows.Scan(&r.ID, &r.Kind, &r.From, &r.DocumentId, &r.Size, &created); err != nil {
			return nil, err
		}
		r.To = organ
		r.Created, _ = time.Parse(time.RFC3339Nano, created)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (h *Hub) delivery(ctx context.Context, organ, id string) (acked string, err error) {
	err = h.db.QueryRowContext(ctx, `SELECT acked FROM deliveries WHERE message_id = ? AND to_organ = ?`, id, organ).Scan(&acked)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fail(http.StatusNotFound, "no message %s for %s", id, organ)
	}
	return acked, err
}

func (h *Hub) ack(ctx context.Context, organ, id string) error {
	if _, err := h.delivery(ctx, organ, id); err != nil {
		return err
	}
	_, err := h.db.ExecContext(ctx, `UPDATE deliveries SET acked = ? WHERE message_id = ? AND to_organ = ? AND acked = ''`,
		time.Now().UTC().Format(time.RFC3339Nano), id, organ)
	return err
}

// Entry is one message on the page that shows what passed through.
type Entry struct {
	ID, Kind, From, DocumentID, StatusCode, Subject string
	Size                                            int64
	Created                                         time.Time
	Deliveries                                      []EntryDelivery
}

// EntryDelivery is one recipient of an Entry.
type EntryDelivery struct {
	To    string
	Acked time.Time
}

// Recent lists the latest messages, newest first.
func (h *Hub) Recent(ctx context.Context, limit int) ([]Entry, error) {
	rows, err := h.db.QueryContext(ctx, `SELECT id, kind, from_organ, document_id, status_code, subject, size, created
		FROM messages ORDER BY created DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	var out []Entry
	idx := map[string]int{}
	for rows.Next() {
		var e Entry
		var created string
		if err := rows.Scan(&e.ID, &e.Kind, &e.From, &e.DocumentID, &e.StatusCode, &e.Subject, &e.Size, &created); err != nil {
			rows.Close()
			return nil, err
		}
		e.Created, _ = time.Parse(time.RFC3339Nano, created)
		idx[e.ID] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	drows, err := h.db.QueryContext(ctx, `SELECT message_id, to_organ, acked FROM deliveries
		WHERE message_id IN (SELECT id FROM messages ORDER BY created DESC, id DESC LIMIT ?) ORDER BY to_organ`, limit)
	if err != nil {
		return nil, err
	}
	defer drows.Close()
	for drows.Next() {
		var id, to, acked string
		if err := drows.Scan(&id, &to, &acked); err != nil {
			return nil, err
		}
		if i, ok := idx[id]; ok {
			d := EntryDelivery{To: to}
			d.Acked, _ = time.Parse(time.RFC3339Nano, acked)
			out[i].Deliveries = append(out[i].Deliveries, d)
		}
	}
	return out, drows.Err()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
