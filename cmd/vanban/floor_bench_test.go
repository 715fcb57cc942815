package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"vanban/internal/audit"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
	"vanban/signing/devpki"
	"vanban/signing/tsa"
)

// BenchmarkIssueFloor measures the work no issued document can avoid, to
// set against BenchmarkIssue's CPU per document (README, "Issuance, end to
// end"): an RSA-2048 signature (the leader's SIM and the office seal make
// one each) and its check, a time-stamp (the TSA signs one per signature,
// and the client checks it), SHA-256 over the document (each stored file
// is content-addressed, each signature hashes its byte range) and one
// audited state change on PostgreSQL (a transaction appending to the
// audit chain), with the CPU of the PostgreSQL backend counted.
//
//	go test ./cmd/vanban/ -run '^$' -bench IssueFloor
func BenchmarkIssueFloor(b *testing.B) {
	pki, err := devpki.New("http://127.0.0.1:1", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := pki.IssueSigner("Lê Văn Chủ", "UBND xã Thành Long", devpki.KeyRSA2048, devpki.Person)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256(demoPDF)
	b.Run("rsa2048-sign", func(b *testing.B) {
		for b.Loop() {
			if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("rsa2048-verify", func(b *testing.B) {
		pub := key.Public().(*rsa.PublicKey)
		for b.Loop() {
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("timestamp", func(b *testing.B) {
		// What the TSA does (parse, sign, encode) and what the client
		// does with the answer (parse, match, verify), without HTTP.
		imprint := sha256.Sum256(sig)
		for b.Loop() {
			nonce, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
			req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:], Certificates: true, Nonce: nonce}).Marshal()
			if err != nil {
				b.Fatal(err)
			}
			der, err := tsa.ParseResponse(pki.TSA().Respond(req))
			if err != nil {
				b.Fatal(err)
			}
			tok, err := tsa.Parse(der)
			if err != nil {
				b.Fatal(err)
			}
			if err := tok.Covers(imprint[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
			if err := tok.Verify(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sha256-document", func(b *testing.B) {
		b.SetBytes(int64(len(demoPDF)))
		for b.Loop() {
			sha256.Sum256(demoPDF)
		}
	})
	b.Run("audited-state-change", func(b *testing.B) {
		url := pgtest.URL(b)
		db, err := store.Open(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		meter := newCPUMeter(b, url)
		ctx := context.Background()
		stop := meter.watch(b)
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if _, err := db.AppendAudit(ctx, audit.Entry{Time: time.Now(), Actor: "bench", Action: "document.submit",
				ObjectType: "document", ObjectID: "floor"}); err != nil {
				b.Fatal(err)
			}
		}
		use := stop()
		b.ReportMetric(float64(use.total().Microseconds())/1000/float64(b.N), "cpu-ms/op")
	})
}
