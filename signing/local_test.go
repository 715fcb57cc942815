package signing_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"testing"

	"vanban/signing"
)

func TestLocalSignsAndVerifies(t *testing.T) {
	rsa1, _, ec1, _ := keys(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		key  testKey
		alg  signing.Algorithm
	}{
		{"rsa pkcs1", rsa1, signing.RSAPKCS1v15},
		{"rsa pss", rsa1, signing.RSAPSS},
		{"ecdsa", ec1, signing.ECDSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := signing.NewLocal("test", tc.key.signer, []*x509.Certificate{tc.key.cert})
			if err != nil {
				t.Fatal(err)
			}
			if !l.Capabilities().Synchronous {
				t.Error("Local must report Synchronous")
			}
			found := false
			for _, a := range l.Capabilities().Algorithms {
				found = found || a == tc.alg
			}
			if !found {
				t.Errorf("Capabilities %v lack %v", l.Capabilities().Algorithms, tc.alg)
			}
			req := signing.Request{Digest: digest(tc.name), Hash: crypto.SHA256, Algorithm: tc.alg}
			sess, err := l.Start(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if sess.TxID == "" {
				t.Fatal("Start without idempotency key gave no transaction id")
			}
			res, err := l.Poll(ctx, sess.TxID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != signing.StatusSigned || res.TxID != sess.TxID {
				t.Fatalf("result %+v", res)
			}
			if err := signing.VerifySignature(tc.key.cert, crypto.SHA256, tc.alg, req.Digest, res.Signature); err != nil {
				t.Fatal(err)
			}
			chain, err := l.Certificates(ctx, "")
			if err != nil || len(chain) != 1 || !chain[0].Equal(tc.key.cert) {
				t.Fatalf("Certificates = %v, %v", chain, err)
			}
		})
	}
}

func TestLocalIdempotentStart(t *testing.T) {
	rsa1, _, _, _ := keys(t)
	l, err := signing.NewLocal("test", rsa1.signer, []*x509.Certificate{rsa1.cert})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := signing.Request{IdempotencyKey: "tx-1", Digest: digest("a"), Hash: crypto.SHA256, Algorithm: signing.RSAPSS}
	s1, err := l.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := l.Poll(ctx, "tx-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	// A retry with the same key must not sign again: PSS is randomised, so a
	// second signature would differ from the first.
	s2, err := l.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Poll(ctx, "tx-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if s1.TxID != "tx-1" || s2.TxID != "tx-1" {
		t.Fatalf("tx ids %q, %q", s1.TxID, s2.TxID)
	}
	if string(r1.Signature) != string(r2.Signature) {
		t.Fatal("second Start with the same idempotency key signed again")
	}
	if !s1.ExpiresAt.Equal(s2.ExpiresAt) {
		t.Errorf("expiry changed on retry: %v vs %v", s1.ExpiresAt, s2.ExpiresAt)
	}
	other := req
	other.Digest = digest("b")
	if _, err := l.Start(ctx, other); signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("same key, other digest: err = %v, want bad_request", err)
	}
}

func TestLocalPollUnknown(t *testing.T) {
	_, _, ec1, _ := keys(t)
	l, err := signing.NewLocal("test", ec1.signer, []*x509.Certificate{ec1.cert})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Poll(context.Background(), "never-started", 0)
	var e *signing.Error
	if !errors.As(err, &e) || e.Kind != signing.KindBadRequest || e.Provider != "test" {
		t.Fatalf("err = %v, want test: bad_request", err)
	}
}

func TestNewLocalRejectsMismatch(t *testing.T) {
	rsa1, rsa2, ec1, _ := keys(t)
	for name, chain := range map[string][]*x509.Certificate{
		"no chain":      nil,
		"other rsa key": {rsa2.cert},
		"ec cert":       {ec1.cert},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := signing.NewLocal("test", rsa1.signer, chain)
			if signing.KindOf(err) != signing.KindNoCertificate {
				t.Fatalf("err = %v, want no_certificate", err)
			}
		})
	}
}

func TestLocalBadRequests(t *testing.T) {
	rsa1, _, ec1, _ := keys(t)
	l, err := signing.NewLocal("test", rsa1.signer, []*x509.Certificate{rsa1.cert})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, req := range map[string]signing.Request{
		"short digest":      {Digest: digest("a")[:20], Hash: crypto.SHA256, Algorithm: signing.RSAPKCS1v15},
		"unknown hash":      {Digest: digest("a"), Hash: crypto.Hash(0), Algorithm: signing.RSAPKCS1v15},
		"unknown algorithm": {Digest: digest("a"), Hash: crypto.SHA256, Algorithm: signing.Algorithm(42)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := l.Start(ctx, req); signing.KindOf(err) != signing.KindBadRequest {
				t.Fatalf("err = %v, want bad_request", err)
			}
		})
	}

	// An algorithm the key cannot produce is our misconfiguration: refused
	// up front like every provider does (signing/providertest), before the
	// key is used.
	t.Run("ecdsa on rsa key", func(t *testing.T) {
		_, err := l.Start(ctx, signing.Request{Digest: digest("a"), Hash: crypto.SHA256, Algorithm: signing.ECDSA})
		if signing.KindOf(err) != signing.KindBadRequest {
			t.Fatalf("err = %v, want bad_request", err)
		}
	})

	t.Run("signer fails", func(t *testing.T) {
		lf, err := signing.NewLocal("test", failingSigner{ec1.signer}, []*x509.Certificate{ec1.cert})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := lf.Start(ctx, signing.Request{Digest: digest("a"), Hash: crypto.SHA256, Algorithm: signing.ECDSA})
		if err != nil {
			t.Fatal(err)
		}
		res, _ := lf.Poll(ctx, sess.TxID, 0)
		if res.Status != signing.StatusFailed || res.Err.Kind != signing.KindUnavailable || !errors.Is(res.Err, errTokenRemoved) {
			t.Fatalf("result %+v", res)
		}
		if res.Err.Provider != "test" {
			t.Errorf("provider = %q", res.Err.Provider)
		}
	})
}

var errTokenRemoved = errors.New("token removed")

type failingSigner struct{ crypto.Signer }

func (f failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errTokenRemoved
}
