package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"vanban/internal/audit"
	"vanban/signing/devpki"
	"vanban/signing/tsa"
)

var (
	anchorTSAOnce sync.Once
	anchorTSAURL  string
	anchorTSAErr  error
)

// anchorTSA is a development PKI's RFC 3161 TSA on loopback, shared by the
// tests of this file (issuing its certificates takes a moment).
func anchorTSA(t *testing.T) string {
	t.Helper()
	anchorTSAOnce.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			anchorTSAErr = err
			return
		}
		p, err := devpki.New("http://"+ln.Addr().String(), filepath.Join(t.TempDir(), "pki"))
		if err != nil {
			anchorTSAErr = err
			return
		}
		srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: p.Handler()}}
		srv.Start() // lives as long as the test binary
		anchorTSAURL = p.TSAURL()
	})
	if anchorTSAErr != nil {
		t.Fatal(anchorTSAErr)
	}
	return anchorTSAURL
}

// anchorer time-stamps the head as serve's job does, into the database and
// the data directory's anchor file.
func (a *auditDB) anchorer(t *testing.T) *audit.Anchorer {
	return &audit.Anchorer{Store: a.db, TSA: &tsa.Client{URL: anchorTSA(t)}, Key: audit.HeadKey([]byte(auditTestSecret)),
		File: filepath.Join(a.dataDir, "audit-anchors.jsonl")}
}

// rewriteChain rewrites every entry the way an intruder with owner rights
// on the database would: triggers dropped, one field changed, every hash
// recomputed so the chain links again, and the head moved to the new end.
// It returns the new head. The seal's MAC stays: the intruder lacks the
// server's key.
func (a *auditDB) rewriteChain(t *testing.T) (int64, string) {
	t.Helper()
	ctx := context.Background()
	for _, table := range []string{"audit_log", "audit_head"} {
		a.dropTableGuards(t, table)
	}
	entries, err := a.db.AuditEntries(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	prev := audit.GenesisHash
	for _, e := range entries {
		e.Actor = "mallory"
		e.PrevHash = prev
		e.Hash = e.ComputeHash()
		a.exec(t, fmt.Sprintf(`UPDATE audit_log SET actor = 'mallory', prev_hash = '%s', hash = '%s' WHERE seq = %d`, e.PrevHash, e.Hash, e.Seq))
		prev = e.Hash
	}
	last := entries[len(entries)-1]
	a.exec(t, fmt.Sprintf(`UPDATE audit_head SET seq = %d, hash = '%s' WHERE id = 1`, last.Seq, prev))
	// The seal row names the new head too; its MAC cannot follow.
	a.exec(t, fmt.Sprintf(`UPDATE audit_seal SET seq = %d, hash = '%s' WHERE id = 1`, last.Seq, prev))
	return last.Seq, prev
}

// TestAuditVerifyDetectsWholeChainRewrite: a chain rewritten consistently,
// every hash recomputed, passes the unkeyed walk but not the seal; and
// even an intruder who also stole the key and resealed the head is caught
// by the time-stamped anchor taken before.
func TestAuditVerifyDetectsWholeChainRewrite(t *testing.T) {
	eachAuditDB(t, func(t *testing.T, a *auditDB) {
		ctx := context.Background()
		a.appendN(t, 6)
		if _, ok, err := a.anchorer(t).Anchor(ctx); err != nil || !ok {
			t.Fatalf("anchor: %v %v", ok, err)
		}
		a.appendN(t, 2) // entries after the anchor
		if code, out, errOut := a.verify(t); code != 0 || !strings.Contains(out, "1 anchors verified, the newest at seq 6") {
			t.Fatalf("before the rewrite: exit %d\n%s%s", code, out, errOut)
		}
		seq, hash := a.rewriteChain(t)
		if r, err := audit.Verify(ctx, a.db); err != nil || !r.OK {
			t.Fatalf("the rewrite should fool the unkeyed walk: %+v %v", r, err)
		}
		code, out, errOut := a.verify(t)
		if code != 1 || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "seal of the head (seq 8) is not valid") {
			t.Fatalf("rewrite without the key: exit %d\n%s%s", code, out, errOut)
		}
		// With the key stolen too, the seal can be forged; the anchor's
		// token, signed by the TSA over the old head of seq 6, cannot.
		a.exec(t, fmt.Sprintf(`UPDATE audit_seal SET seq = %d, hash = '%s', mac = '%s' WHERE id = 1`,
			seq, hash, audit.HeadMAC(audit.HeadKey([]byte(auditTestSecret)), seq, hash)))
		code, out, errOut = a.verify(t)
		if code != 1 || !strings.Contains(out, "BROKEN at sequence 6") || !strings.Contains(out, "the chain was rewritten") {
			t.Fatalf("rewrite with a forged seal: exit %d\n%s%s", code, out, errOut)
		}
	})
}

// TestAuditVerifyDetectsCutTail: deleting the newest entries and moving the
// head back is seen by the seal; replaying an older seal (saved before the
// cut) is seen by the anchor, in the database and in the file outside it.
func TestAuditVerifyDetectsCutTail(t *testing.T) {
	eachAuditDB(t, func(t *testing.T, a *auditDB) {
		ctx := context.Background()
		entries := a.appendN(t, 3)
		var oldMAC string
		if err := a.raw.QueryRowContext(ctx, `SELECT mac FROM audit_seal WHERE id = 1`).Scan(&oldMAC); err != nil {
			t.Fatal(err)
		}
		a.appendN(t, 2)
		if _, ok, err := a.anchorer(t).Anchor(ctx); err != nil || !ok {
			t.Fatalf("anchor: %v %v", ok, err)
		}
		// Anchoring twice at the same head asks the TSA nothing new.
		if _, ok, err := a.anchorer(t).Anchor(ctx); err != nil || ok {
			t.Fatalf("second anchor at the same head: %v %v", ok, err)
		}
		for _, table := range []string{"audit_log", "audit_head"} {
			a.dropTableGuards(t, table)
		}
		a.exec(t, `DELETE FROM audit_log WHERE seq > 3`)
		a.exec(t, fmt.Sprintf(`UPDATE audit_head SET seq = 3, hash = '%s' WHERE id = 1`, entries[2].Hash))
		if r, err := audit.Verify(ctx, a.db); err != nil || !r.OK {
			t.Fatalf("the cut should fool the unkeyed walk: %+v %v", r, err)
		}
		code, out, errOut := a.verify(t)
		if code != 1 || !strings.Contains(out, "the seal names seq 5") {
			t.Fatalf("cut tail: exit %d\n%s%s", code, out, errOut)
		}
		// Replay the seal saved at seq 3: the seal is valid again, the
		// anchor at seq 5 is not.
		a.exec(t, fmt.Sprintf(`UPDATE audit_seal SET seq = 3, hash = '%s', mac = '%s' WHERE id = 1`, entries[2].Hash, oldMAC))
		code, out, errOut = a.verify(t)
		if code != 1 || !strings.Contains(out, "names seq 5 but the chain ends at 3") {
			t.Fatalf("cut tail, replayed seal: exit %d\n%s%s", code, out, errOut)
		}
		// And with the database's anchors gone too, the file still has it.
		a.dropTableGuards(t, "audit_anchors")
		a.exec(t, `DELETE FROM audit_anchors`)
		code, out, errOut = a.verify(t)
		if code != 1 || !strings.Contains(out, "names seq 5 but the chain ends at 3") {
			t.Fatalf("cut tail, replayed seal, anchors deleted: exit %d\n%s%s", code, out, errOut)
		}
	})
}

// TestAuditAnchorCommand: "vanban audit anchor" time-stamps the head with
// the configured TSA and verify counts the anchor; a damaged anchor file
// is an error, never silence.
func TestAuditAnchorCommand(t *testing.T) {
	clearServeEnv(t)
	eachAuditDB(t, func(t *testing.T, a *auditDB) {
		a.appendN(t, 2)
		var out, errb strings.Builder
		args := []string{"audit", "anchor", "--data-dir", a.dataDir, "--database-url", a.url, "--secret-key", auditTestSecret, "--tsa-url", anchorTSA(t)}
		if code := run(context.Background(), args, &out, &errb); code != 0 || !strings.Contains(out.String(), "anchored head seq 2") {
			t.Fatalf("anchor: exit %d\n%s%s", code, out.String(), errb.String())
		}
		if code, vout, verr := a.verify(t); code != 0 || !strings.Contains(vout, "1 anchors verified") {
			// one in the database, the same in the file
			t.Fatalf("verify: exit %d\n%s%s", code, vout, verr)
		}
		if err := appendRaw(filepath.Join(a.dataDir, "audit-anchors.jsonl"), "{not json\n"); err != nil {
			t.Fatal(err)
		}
		if code, vout, verr := a.verify(t); code != 1 || !strings.Contains(verr, "line 2") {
			t.Fatalf("damaged anchor file: exit %d\n%s%s", code, vout, verr)
		}
	})
}

func appendRaw(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(s)
	return err
}
