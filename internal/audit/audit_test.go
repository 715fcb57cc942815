package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vanban/internal/audit"
)

func TestCanonicalSeparatesFields(t *testing.T) {
	base := audit.Entry{Seq: 1, Time: time.Unix(0, 0), Actor: "ab", ClientAddr: "c", Action: "x", ObjectType: "d", Change: json.RawMessage("{}"), PrevHash: audit.GenesisHash}
	shifted := base
	shifted.Actor, shifted.ClientAddr = "a", "bc"
	if bytes.Equal(base.Canonical(), shifted.Canonical()) || base.ComputeHash() == shifted.ComputeHash() {
		t.Error("moving bytes between fields must change the encoding")
	}
	if base.ComputeHash() != base.ComputeHash() || len(base.ComputeHash()) != 64 {
		t.Error("hash must be stable 64 hex digits")
	}
}

func TestNormalize(t *testing.T) {
	e := audit.Entry{Actor: "u", Action: "a", ObjectType: "o", Time: time.Date(2026, 1, 1, 7, 0, 0, 123456789, time.FixedZone("ICT", 7*3600))}
	if err := e.Normalize(); err != nil {
		t.Fatal(err)
	}
	if string(e.Change) != "{}" || e.Time.Location() != time.UTC || e.Time.Nanosecond() != 123456000 {
		t.Errorf("normalized %+v", e)
	}
	e.Change = json.RawMessage(" { \"a\" : [1, 2] } ")
	if err := e.Normalize(); err != nil || string(e.Change) != `{"a":[1,2]}` {
		t.Errorf("compact: %s, %v", e.Change, err)
	}
	e.Change = json.RawMessage("{nope")
	if err := e.Normalize(); err == nil {
		t.Error("invalid JSON accepted")
	}
	if err := (&audit.Entry{Action: "a", ObjectType: "o"}).Normalize(); err == nil {
		t.Error("missing actor accepted")
	}
}

type memSource struct {
	entries  []audit.Entry
	headSeq  int64
	headHash string
	err      error
}

func (m *memSource) AuditHead(context.Context) (int64, string, error) {
	return m.headSeq, m.headHash, m.err
}

func (m *memSource) AuditEntries(_ context.Context, after int64, limit int) ([]audit.Entry, error) {
	var out []audit.Entry
	for _, e := range m.entries {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// chain builds n linked entries, more than one Verify page.
func chain(n int) *memSource {
	m := &memSource{headHash: audit.GenesisHash}
	for i := 1; i <= n; i++ {
		e := audit.Entry{Seq: int64(i), Time: time.Unix(int64(i), 0).UTC(), Actor: "u", Action: "a", ObjectType: "o", Change: json.RawMessage("{}"), PrevHash: m.headHash}
		e.Hash = e.ComputeHash()
		m.entries = append(m.entries, e)
		m.headSeq, m.headHash = e.Seq, e.Hash
	}
	return m
}

func TestVerifyPagesAndFindsFirstBad(t *testing.T) {
	m := chain(2500)
	r, err := audit.Verify(context.Background(), m)
	if err != nil || !r.OK || r.Entries != 2500 {
		t.Fatalf("good chain: %+v, %v", r, err)
	}
	m.entries[1700].ObjectID = "changed"
	m.entries[2100].Actor = "changed"
	r, err = audit.Verify(context.Background(), m)
	if err != nil || r.OK || r.FirstBadSeq != 1701 {
		t.Fatalf("tampered chain: %+v, %v", r, err)
	}
	// An entry newer than the head read at the start is a concurrent
	// append: checked next time, not reported as tampering.
	m = chain(3)
	m.headSeq, m.headHash = 2, m.entries[1].Hash
	r, _ = audit.Verify(context.Background(), m)
	if !r.OK || r.Entries != 2 {
		t.Fatalf("entry after head: %+v", r)
	}
	// The head claims more than the log holds: the newest were deleted.
	m = chain(3)
	m.entries = m.entries[:2]
	r, _ = audit.Verify(context.Background(), m)
	if r.OK || r.FirstBadSeq != 3 {
		t.Fatalf("deleted newest: %+v", r)
	}
	m.err = errors.New("connection reset")
	if _, err := audit.Verify(context.Background(), m); err == nil {
		t.Fatal("read error not returned")
	}
}

// FuzzReadAnchorFile: a damaged anchor file is an error naming the line,
// never a panic.
func FuzzReadAnchorFile(f *testing.F) {
	f.Add([]byte(`{"seq":1,"hash":"ab","at_us":1,"token":"AAAA","mac":"cd"}` + "\n"))
	f.Add([]byte("{not json\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "anchors.jsonl")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _ = audit.ReadAnchorFile(p)
	})
}
