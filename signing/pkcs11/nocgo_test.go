//go:build !cgo

package pkcs11_test

import (
	"errors"
	"strings"
	"testing"

	"vanban/signing"
	"vanban/signing/pkcs11"
)

func TestNoCgoSaysSo(t *testing.T) {
	p, err := signing.Open("pkcs11:token=vanban;object=seal?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1", nil)
	if p != nil {
		t.Fatalf("provider %T returned with the error", p)
	}
	if !errors.Is(err, pkcs11.ErrNeedsCgo) || signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("err = %v, want the cgo build error", err)
	}
	if !strings.Contains(err.Error(), "pkcs11 needs a cgo build") {
		t.Fatalf("err = %q", err)
	}
	// A malformed URI is still reported as malformed.
	_, err = signing.Open("pkcs11:token=vanban", nil)
	if errors.Is(err, pkcs11.ErrNeedsCgo) || signing.KindOf(err) != signing.KindBadRequest {
		t.Fatalf("err = %v, want a URI error", err)
	}
}
