package signing_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/asn1"
	"math/big"
	"testing"

	"vanban/signing"
)

func TestVerifySignature(t *testing.T) {
	rsa1, rsa2, ec1, ec2 := keys(t)
	d := digest("signed attributes")
	other := digest("other attributes")
	d384 := sha512.Sum384([]byte("signed attributes"))

	pkcs1, err := rsa1.signer.Sign(rand.Reader, d, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pss, err := rsa1.signer.Sign(rand.Reader, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	// PSS with the maximal salt, as some HSMs produce: VerifySignature
	// promises to accept any salt length.
	pssMaxSalt, err := rsa1.signer.Sign(rand.Reader, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := ec1.signer.Sign(rand.Reader, d, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	ecRaw := derToRaw(t, ecDER, 32)
	pkcs1SHA384, err := rsa1.signer.Sign(rand.Reader, d384[:], crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		key     testKey
		hash    crypto.Hash
		alg     signing.Algorithm
		digest  []byte
		sig     []byte
		wantErr bool
	}{
		{"rsa pkcs1", rsa1, crypto.SHA256, signing.RSAPKCS1v15, d, pkcs1, false},
		{"rsa pkcs1 sha384", rsa1, crypto.SHA384, signing.RSAPKCS1v15, d384[:], pkcs1SHA384, false},
		{"rsa pss salt=hash", rsa1, crypto.SHA256, signing.RSAPSS, d, pss, false},
		{"rsa pss max salt", rsa1, crypto.SHA256, signing.RSAPSS, d, pssMaxSalt, false},
		{"ecdsa der", ec1, crypto.SHA256, signing.ECDSA, d, ecDER, false},
		{"ecdsa raw", ec1, crypto.SHA256, signing.ECDSA, d, ecRaw, false},

		{"rsa wrong key", rsa2, crypto.SHA256, signing.RSAPKCS1v15, d, pkcs1, true},
		{"rsa wrong digest", rsa1, crypto.SHA256, signing.RSAPKCS1v15, other, pkcs1, true},
		{"rsa pkcs1 checked as pss", rsa1, crypto.SHA256, signing.RSAPSS, d, pkcs1, true},
		{"rsa pss checked as pkcs1", rsa1, crypto.SHA256, signing.RSAPKCS1v15, d, pss, true},
		{"rsa wrong hash named", rsa1, crypto.SHA384, signing.RSAPKCS1v15, d384[:], pkcs1, true},
		{"rsa key with ecdsa alg", rsa1, crypto.SHA256, signing.ECDSA, d, pkcs1, true},
		{"ecdsa wrong key", ec2, crypto.SHA256, signing.ECDSA, d, ecDER, true},
		{"ecdsa wrong digest", ec1, crypto.SHA256, signing.ECDSA, other, ecDER, true},
		{"ecdsa raw wrong digest", ec1, crypto.SHA256, signing.ECDSA, other, ecRaw, true},
		{"ecdsa key with rsa alg", ec1, crypto.SHA256, signing.RSAPKCS1v15, d, ecDER, true},
		{"ecdsa garbage", ec1, crypto.SHA256, signing.ECDSA, d, []byte("not a signature"), true},
		{"ecdsa empty", ec1, crypto.SHA256, signing.ECDSA, d, nil, true},
		{"digest too short", rsa1, crypto.SHA256, signing.RSAPKCS1v15, d[:31], pkcs1, true},
		{"hash unavailable", rsa1, crypto.Hash(0), signing.RSAPKCS1v15, d, pkcs1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signing.VerifySignature(tt.key.cert, tt.hash, tt.alg, tt.digest, tt.sig)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("VerifySignature: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("VerifySignature accepted a bad signature")
			}
			if k := signing.KindOf(err); k != signing.KindBadSignature {
				t.Fatalf("kind = %v, want bad_signature (err %v)", k, err)
			}
		})
	}

	t.Run("no certificate", func(t *testing.T) {
		err := signing.VerifySignature(nil, crypto.SHA256, signing.RSAPKCS1v15, d, pkcs1)
		if signing.KindOf(err) != signing.KindBadSignature {
			t.Fatalf("err = %v, want bad_signature", err)
		}
	})
}

func TestECDSAToDER(t *testing.T) {
	_, _, ec1, ec2 := keys(t)
	pub := ec1.signer.Public().(*ecdsa.PublicKey)
	d := digest("x")
	der, err := ec1.signer.Sign(rand.Reader, d, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	raw := derToRaw(t, der, 32)

	got, err := signing.ECDSAToDER(raw, pub)
	if err != nil {
		t.Fatalf("raw: %v", err)
	}
	if !ecdsa.VerifyASN1(pub, d, got) {
		t.Fatal("converted raw signature does not verify")
	}
	got, err = signing.ECDSAToDER(der, pub)
	if err != nil {
		t.Fatalf("der: %v", err)
	}
	if string(got) != string(der) {
		t.Fatal("DER input was not returned unchanged")
	}
	// Raw r||s for P-256 is 64 bytes; 96 bytes is P-384's size and must be
	// refused for a P-256 key rather than split in the wrong place.
	p384 := ec2.signer.Public().(*ecdsa.PublicKey)
	der384, _ := ec2.signer.Sign(rand.Reader, digest("y")[:], crypto.SHA256)
	raw384 := derToRaw(t, der384, 48)
	if _, err := signing.ECDSAToDER(raw384, pub); err == nil {
		t.Fatal("P-384 raw signature accepted for a P-256 key")
	}
	if _, err := signing.ECDSAToDER(raw384, p384); err != nil {
		t.Fatalf("P-384 raw: %v", err)
	}
	if _, err := signing.ECDSAToDER(make([]byte, 64), pub); err == nil {
		t.Fatal("all-zero raw signature accepted")
	}
	if _, err := signing.ECDSAToDER([]byte{0x30, 0x01}, pub); err == nil {
		t.Fatal("truncated DER accepted")
	}
}

func TestECDSARawToDER(t *testing.T) {
	// Leading zero bytes in r or s are padding in the fixed-width raw form;
	// DER must encode the minimal integers, and a high bit needs a 0x00 pad.
	raw := make([]byte, 64)
	raw[31] = 0x05
	raw[32] = 0x80
	raw[63] = 0x01
	der, err := signing.ECDSARawToDER(raw)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &v); err != nil || len(rest) != 0 {
		t.Fatalf("result is not DER: %v", err)
	}
	if v.R.Int64() != 5 {
		t.Fatalf("r = %v, want 5", v.R)
	}
	wantS := new(big.Int).SetBytes(raw[32:])
	if v.S.Cmp(wantS) != 0 {
		t.Fatalf("s = %x, want %x", v.S, wantS)
	}
	for _, bad := range [][]byte{nil, {1}, {1, 2, 3}, make([]byte, 64)} {
		if _, err := signing.ECDSARawToDER(bad); err == nil {
			t.Errorf("ECDSARawToDER(%x) accepted", bad)
		}
	}
}

// derToRaw turns a DER ECDSA signature into fixed-width r||s, the form
// PKCS#11 tokens and many remote signers return.
func derToRaw(tb testing.TB, der []byte, size int) []byte {
	tb.Helper()
	var v struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &v); err != nil {
		tb.Fatal(err)
	}
	raw := make([]byte, 2*size)
	v.R.FillBytes(raw[:size])
	v.S.FillBytes(raw[size:])
	return raw
}
