// Package audit defines vanban's hash-chained audit log: the entry, its
// canonical encoding and hash, and Verify, which walks the chain and names
// the first entry that was edited, deleted or reordered.
//
// Appending lives with the database (store.Tx.AppendAudit) because it must
// share the caller's transaction; this package owns what an entry means.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// GenesisHash is the prev_hash of the first entry.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one audit record. Seq, PrevHash and Hash are set on append.
type Entry struct {
	Seq        int64
	Time       time.Time // stored with microsecond precision, UTC
	Actor      string    // user ID, or "system:<component>"
	ClientAddr string    // remote address of the request, "" for background jobs
	Action     string    // e.g. "document.submit"
	ObjectType string    // e.g. "document"
	ObjectID   string
	Change     json.RawMessage // compact JSON describing what changed
	PrevHash   string          // hex SHA-256 of the previous entry
	Hash       string          // hex SHA-256 of this entry's canonical encoding
}

// Normalize prepares e for hashing: time in UTC truncated to microseconds
// (what the database keeps) and Change compacted, "{}" when empty. It
// returns an error when Change is not valid JSON or a required field is empty.
func (e *Entry) Normalize() error {
	if e.Actor == "" || e.Action == "" || e.ObjectType == "" {
		return fmt.Errorf("audit: entry needs actor, action and object type (got %q, %q, %q)", e.Actor, e.Action, e.ObjectType)
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if len(bytes.TrimSpace(e.Change)) == 0 {
		e.Change = json.RawMessage("{}")
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, e.Change); err != nil {
		return fmt.Errorf("audit: change of %s is not valid JSON: %w", e.Action, err)
	}
	e.Change = buf.Bytes()
	return nil
}

// Canonical is the byte string the hash covers: a version tag, then every
// field as "<length>:<bytes>," so no two different entries encode the same.
func (e *Entry) Canonical() []byte {
	var b bytes.Buffer
	b.WriteString("vanban-audit-v1\n")
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
		b.WriteByte(',')
	}
	field(strconv.FormatInt(e.Seq, 10))
	field(strconv.FormatInt(e.Time.UnixMicro(), 10))
	field(e.Actor)
	field(e.ClientAddr)
	field(e.Action)
	field(e.ObjectType)
	field(e.ObjectID)
	field(string(e.Change))
	field(e.PrevHash)
	return b.Bytes()
}

// ComputeHash returns the hex SHA-256 of e's canonical encoding.
func (e *Entry) ComputeHash() string {
	sum := sha256.Sum256(e.Canonical())
	return hex.EncodeToString(sum[:])
}

// Source is what Verify reads: the head (last seq and hash, kept apart from
// the entries so deleting the newest entries shows) and the entries in seq
// order. *store.DB implements it.
type Source interface {
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
	AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]Entry, error)
}

// Report is the result of Verify.
type Report struct {
	OK       bool
	Entries  int64  // entries checked
	HeadSeq  int64  // from the head record
	HeadHash string // from the head record; publish it to anchor the chain
	// When !OK: the first sequence number at which the chain breaks, and why.
	FirstBadSeq int64
	Problem     string
	// Set by VerifyWith: the head's seal was checked, and how many anchors
	// were, the newest of them (its sequence number and the TSA's time).
	Sealed     bool
	Anchors    int
	AnchorSeq  int64
	AnchorTime time.Time
}

// Verify walks the chain up to the head as read when it starts, so appends
// running meanwhile do not look like tampering. A broken chain is reported
// in Report (OK false) with a nil error; err is for failures to read.
func Verify(ctx context.Context, src Source) (Report, error) {
	return verifyChain(ctx, src, nil)
}

// verifyChain is Verify; it also records in want the hash of every entry
// whose sequence number is a key of want.
func verifyChain(ctx context.Context, src Source, want map[int64]string) (Report, error) {
	const page = 1000
	headSeq, headHash, err := src.AuditHead(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("audit: read head: %w", err)
	}
	r := Report{HeadSeq: headSeq, HeadHash: headHash}
	bad := func(seq int64, format string, args ...any) (Report, error) {
		r.FirstBadSeq = seq
		r.Problem = fmt.Sprintf(format, args...)
		return r, nil
	}
	prevSeq, prevHash := int64(0), GenesisHash
	for {
		entries, err := src.AuditEntries(ctx, prevSeq, page)
		if err != nil {
			return r, fmt.Errorf("audit: read entries after %d: %w", prevSeq, err)
		}
		for i := range entries {
			e := &entries[i]
			if e.Seq > headSeq {
				// Appended after the head was read: the chain is checked
				// as of that moment, and a later Verify covers the rest.
				break
			}
			next := prevSeq + 1
			switch {
			case e.Seq != next:
				return bad(next, "entry %d is missing (next entry found is %d): deleted or renumbered", next, e.Seq)
			case e.PrevHash != prevHash:
				return bad(e.Seq, "entry %d does not link to entry %d: prev_hash %.12s…, want %.12s… (edited, reordered or inserted)", e.Seq, prevSeq, e.PrevHash, prevHash)
			case e.ComputeHash() != e.Hash:
				return bad(e.Seq, "entry %d content does not match its hash (edited)", e.Seq)
			}
			prevSeq, prevHash = e.Seq, e.Hash
			if _, ok := want[e.Seq]; ok {
				want[e.Seq] = e.Hash
			}
			r.Entries++
		}
		if len(entries) < page || prevSeq >= headSeq {
			break
		}
	}
	switch {
	case prevSeq < headSeq:
		return bad(prevSeq+1, "entries %d..%d are missing: the head says the chain ends at %d", prevSeq+1, headSeq, headSeq)
	case prevHash != headHash:
		return bad(prevSeq, "the last entry %d does not match the head hash (edited)", prevSeq)
	}
	r.OK = true
	return r, nil
}
