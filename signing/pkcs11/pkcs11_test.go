//go:build cgo

package pkcs11_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"vanban/signing"
	"vanban/signing/pkcs11"
)

func openProvider(tb testing.TB, uri string) *pkcs11.Provider {
	tb.Helper()
	p, err := signing.Open(uri, nil)
	if err != nil {
		tb.Fatalf("Open(%s): %v", uri, err)
	}
	pp, ok := p.(*pkcs11.Provider)
	if !ok {
		tb.Fatalf("provider is %T", p)
	}
	tb.Cleanup(func() {
		if err := pp.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return pp
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(signing.Schemes(), "pkcs11") {
		t.Fatalf("schemes %v", signing.Schemes())
	}
}

// PKCS#1 v1.5 signatures are deterministic, so the token's signature must
// equal Go's with the same key byte for byte; that checks the DigestInfo
// we build for CKM_RSA_PKCS.
func TestRSAPKCS1MatchesGo(t *testing.T) {
	f := softHSM(t)
	p := openProvider(t, f.uri("vanban;object=seal-rsa", "pin-value=1234"))
	key := p.Key()
	if !key.Public().(*rsa.PublicKey).Equal(&f.rsaKey.PublicKey) {
		t.Fatal("public key read from the token differs from the imported key")
	}
	if !key.Certificate().Equal(f.rsaCert) {
		t.Fatal("certificate read from the token differs")
	}
	msg := []byte("Quyết định số 12/QĐ-UBND")
	d256 := sha256.Sum256(msg)
	d384 := sha512.Sum384(msg)
	d512 := sha512.Sum512(msg)
	for _, tc := range []struct {
		hash   crypto.Hash
		digest []byte
	}{{crypto.SHA256, d256[:]}, {crypto.SHA384, d384[:]}, {crypto.SHA512, d512[:]}} {
		t.Run(tc.hash.String(), func(t *testing.T) {
			got, err := key.Sign(rand.Reader, tc.digest, tc.hash)
			if err != nil {
				t.Fatal(err)
			}
			want, err := rsa.SignPKCS1v15(nil, f.rsaKey, tc.hash, tc.digest)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatal("token signature differs from crypto/rsa's")
			}
		})
	}
}

func TestRSAPSS(t *testing.T) {
	f := softHSM(t)
	p := openProvider(t, f.uri("vanban;object=seal-rsa", "pin-value=1234"))
	d := sha256.Sum256([]byte("pss"))
	for _, salt := range []int{rsa.PSSSaltLengthEqualsHash, rsa.PSSSaltLengthAuto, 20} {
		t.Run(fmt.Sprint(salt), func(t *testing.T) {
			opts := &rsa.PSSOptions{SaltLength: salt, Hash: crypto.SHA256}
			sig, err := p.Key().Sign(rand.Reader, d[:], opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPSS(&f.rsaKey.PublicKey, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := p.Key().Sign(rand.Reader, d[:], &rsa.PSSOptions{SaltLength: 1000, Hash: crypto.SHA256}); signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("oversized salt: err = %v", err)
	}
}

func TestECDSA(t *testing.T) {
	f := softHSM(t)
	// Select by CKA_ID (hex-percent-encoded) this time.
	p := openProvider(t, "pkcs11:token=vanban;id=%02?module-path="+f.module+"&pin-value=1234")
	if !p.Key().Public().(*ecdsa.PublicKey).Equal(&f.ecKey.PublicKey) {
		t.Fatal("EC public key read from the token differs")
	}
	d := sha256.Sum256([]byte("ec"))
	sig, err := p.Key().Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	// crypto.Signer contract: ASN.1 DER, not the token's raw r||s.
	if !ecdsa.VerifyASN1(&f.ecKey.PublicKey, d[:], sig) {
		t.Fatal("ECDSA signature does not verify as DER")
	}
	if _, err := p.Key().Sign(rand.Reader, d[:16], crypto.SHA256); signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("short digest: err = %v", err)
	}
}

func TestProviderSignAndWait(t *testing.T) {
	f := softHSM(t)
	for _, tc := range []struct {
		object string
		alg    signing.Algorithm
		want   string
	}{
		{"seal-rsa", signing.RSAPKCS1v15, "Con dấu UBND Thử"},
		{"seal-rsa", signing.RSAPSS, "Con dấu UBND Thử"},
		{"seal-ec", signing.ECDSA, "Chữ ký EC"},
	} {
		t.Run(tc.object+" "+tc.alg.String(), func(t *testing.T) {
			t.Setenv("VANBAN_TEST_PIN", "1234")
			p := openProvider(t, f.uri("vanban;object="+tc.object, "pin-env=VANBAN_TEST_PIN&cert="+f.caPEM))
			chain, err := p.Certificates(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(chain) != 2 || chain[0].Subject.CommonName != tc.want || !chain[1].Equal(f.ca) {
				t.Fatalf("chain: %d certs, leaf %q", len(chain), chain[0].Subject.CommonName)
			}
			d := sha256.Sum256([]byte(tc.object))
			sig, err := signing.SignAndWait(context.Background(), p, chain[0], signing.Request{IdempotencyKey: "t1", Digest: d[:], Hash: crypto.SHA256, Algorithm: tc.alg}, signing.WaitOptions{MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			if err := signing.VerifySignature(chain[0], crypto.SHA256, tc.alg, d[:], sig); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCertificateFromFileWhenTokenHasNone(t *testing.T) {
	f := softHSM(t)
	p := openProvider(t, f.uri("vanban;object=nocert", "pin-value=1234&cert="+f.nocertPEM))
	chain, _ := p.Certificates(context.Background(), "")
	if len(chain) != 2 || chain[0].Subject.CommonName != "Không có trên thẻ" || !chain[1].Equal(f.ca) {
		t.Fatalf("chain %v", chain)
	}
	d := sha256.Sum256([]byte("x"))
	if _, err := signing.SignAndWait(context.Background(), p, chain[0], signing.Request{Digest: d[:], Hash: crypto.SHA256, Algorithm: signing.RSAPKCS1v15}, signing.WaitOptions{MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	f := softHSM(t)
	for _, tc := range []struct {
		name string
		uri  string
		kind signing.Kind
		code string
		msg  string
	}{
		{"wrong pin", f.uri("vanban;object=seal-rsa", "pin-value=0000"), signing.KindUnauthorized, "CKR_PIN_INCORRECT", ""},
		{"no pin", f.uri("vanban;object=seal-rsa", ""), signing.KindUnauthorized, "", "requires a PIN"},
		{"unknown token", f.uri("nosuch;object=seal-rsa", "pin-value=1234"), signing.KindUnreachable, "", `"vanban"`},
		{"ambiguous token", "pkcs11:manufacturer=SoftHSM%20project;object=seal-ec?module-path=" + f.module + "&pin-value=1234", signing.KindBadRequest, "", "2 tokens"},
		{"unknown object", f.uri("vanban;object=nosuch", "pin-value=1234"), signing.KindNoCertificate, "", "object=nosuch"},
		{"no certificate", f.uri("vanban;object=nocert", "pin-value=1234"), signing.KindNoCertificate, "", "cert="},
		{"certificate of another key", f.uri("vanban;object=nocert", "pin-value=1234&cert="+f.caPEM), signing.KindNoCertificate, "", ""},
		{"missing cert file", f.uri("vanban;object=seal-rsa", "pin-value=1234&cert="+f.dir+"/none.pem"), signing.KindBadRequest, "", "none.pem"},
		{"missing module", "pkcs11:token=vanban;object=seal-rsa?module-path=/nonexistent/libnothing.so&pin-value=1234", signing.KindBadRequest, "", "cannot load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := signing.Open(tc.uri, nil)
			if err == nil {
				p.(signing.Closer).Close()
				t.Fatal("Open succeeded")
			}
			if p != nil {
				t.Fatalf("Open returned a non-nil provider %T with its error", p)
			}
			var se *signing.Error
			if !errors.As(err, &se) || se.Kind != tc.kind || se.Provider != "pkcs11" {
				t.Fatalf("err = %v, want pkcs11: %v", err, tc.kind)
			}
			if tc.code != "" && se.Code != tc.code {
				t.Errorf("code = %q, want %q", se.Code, tc.code)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tc.msg)
			}
		})
	}
}

func TestSecondTokenAndSharedModule(t *testing.T) {
	f := softHSM(t)
	a := openProvider(t, f.uri("vanban;object=seal-ec", "pin-value=1234"))
	b, err := signing.Open(f.uri("other;object=seal-ec2", "pin-value=9999"), nil)
	if err != nil {
		t.Fatal(err)
	}
	chain, _ := b.Certificates(context.Background(), "")
	if chain[0].Subject.CommonName != "Other token" {
		t.Fatalf("leaf %q", chain[0].Subject.CommonName)
	}
	// Both providers share the loaded module; closing one must leave the
	// other working.
	if err := b.(signing.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("after close"))
	if _, err := a.Key().Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
		t.Fatalf("sign after closing the other provider: %v", err)
	}
}

func TestClose(t *testing.T) {
	f := softHSM(t)
	p, err := pkcs11.Open(mustURL(t, f.uri("vanban;object=seal-ec", "pin-value=1234")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	d := sha256.Sum256([]byte("closed"))
	if _, err := p.Key().Sign(rand.Reader, d[:], crypto.SHA256); signing.KindOf(err) != signing.KindUnavailable {
		t.Fatalf("Sign after Close: err = %v, want unavailable", err)
	}
}

// TestConcurrentSignatures runs 50 signatures at once through a pool of 4
// sessions: every one must succeed and verify.
func TestConcurrentSignatures(t *testing.T) {
	f := softHSM(t)
	for _, object := range []string{"seal-rsa", "seal-ec"} {
		t.Run(object, func(t *testing.T) {
			p := openProvider(t, f.uri("vanban;object="+object, "pin-value=1234&max-sessions=4"))
			chain, _ := p.Certificates(context.Background(), "")
			alg, _ := signing.AlgorithmFor(chain[0])
			const n = 50
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d := sha256.Sum256([]byte(fmt.Sprintf("document %d", i)))
					req := signing.Request{IdempotencyKey: fmt.Sprintf("%s-%d", object, i), Digest: d[:], Hash: crypto.SHA256, Algorithm: alg}
					sig, err := signing.SignAndWait(context.Background(), p, chain[0], req, signing.WaitOptions{MaxAttempts: 1})
					if err == nil {
						err = signing.VerifySignature(chain[0], crypto.SHA256, alg, d[:], sig)
					}
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func mustURL(tb testing.TB, raw string) *url.URL {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestRecoversAfterTokenReset(t *testing.T) {
	f := softHSM(t)
	for _, object := range []string{"seal-rsa", "seal-ec"} {
		t.Run(object, func(t *testing.T) {
			p := openProvider(t, f.uri("vanban;object="+object, "pin-value=1234&max-sessions=2"))
			d := sha256.Sum256([]byte("before"))
			// Fill the pool so the reset leaves stale sessions in it.
			if _, err := p.Key().Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
				t.Fatal(err)
			}
			if err := p.Key().DropAllSessions(); err != nil {
				t.Fatal(err)
			}
			d = sha256.Sum256([]byte("after"))
			sig, err := p.Key().Sign(rand.Reader, d[:], crypto.SHA256)
			if err != nil {
				t.Fatalf("sign after token reset: %v", err)
			}
			chain, _ := p.Certificates(context.Background(), "")
			alg, _ := signing.AlgorithmFor(chain[0])
			if err := signing.VerifySignature(chain[0], crypto.SHA256, alg, d[:], sig); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSlotSelection(t *testing.T) {
	f := softHSM(t)
	_, err := signing.Open("pkcs11:slot-id=424242;object=seal-rsa?module-path="+f.module+"&pin-value=1234", nil)
	if signing.KindOf(err) != signing.KindUnreachable {
		t.Fatalf("err = %v, want unreachable", err)
	}
	// The same token by label and by a serial that does not match.
	_, err = signing.Open("pkcs11:token=vanban;serial=0000;object=seal-rsa?module-path="+f.module+"&pin-value=1234", nil)
	if signing.KindOf(err) != signing.KindUnreachable {
		t.Fatalf("err = %v, want unreachable", err)
	}
}
