package csc_test

import (
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/csc/cscsim"
	"vanban/signing/providertest"
)

// TestConformance runs the provider suite against the CSC simulator over
// loopback HTTP: an asynchronous credential approved as on the phone, one
// the signer declines, and two forging credentials (another key, another
// hash).
func TestConformance(t *testing.T) {
	testKeys(t)
	e := newEnv(t, cscsim.Options{Credentials: []cscsim.CredentialSpec{
		{ID: "leader-ec", Key: "ec", Signer: ecKey, Async: true, Subject: "Nguyễn Văn Lãnh Đạo"},
		{ID: "seal-rsa", Key: "rsa", Signer: rsaKey, Subject: "Con dấu Văn phòng"},
		{ID: "decliner", Key: "ec", Async: true},
		{ID: "forger-key", Key: "ec", WrongKey: true},
		{ID: "forger-hash", Key: "ec"},
	}})
	e.sim.SignOtherHash("forger-hash", true)
	c := e.open(t, "")
	// pending finds the authorization the signer's phone shows.
	pending := func(t *testing.T, cred string) cscsim.Pending {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			for _, p := range e.sim.Pending() {
				if p.CredentialID == cred {
					return p
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("no pending authorization for %s", cred)
		return cscsim.Pending{}
	}
	for _, signer := range []string{"leader-ec", "seal-rsa"} {
		t.Run(signer, func(t *testing.T) {
			providertest.Run(t, providertest.Harness{
				Provider: c,
				Signer:   signer,
				Approve: func(t *testing.T, cred string, sess *signing.Session) {
					if cred != "leader-ec" {
						return // synchronous credentials sign at once
					}
					if err := e.sim.Approve(pending(t, cred).ResponseID); err != nil {
						t.Fatal(err)
					}
				},
				DeviceRequests: func(string) int { return e.sim.Calls("credentials/authorize") },
				WrongKey:       providertest.Signer{ID: "forger-key"},
				OtherHash:      providertest.Signer{ID: "forger-hash"},
				Declines:       "decliner",
				Decline: func(t *testing.T, cred string, sess *signing.Session) {
					if err := e.sim.Decline(pending(t, cred).ResponseID); err != nil {
						t.Fatal(err)
					}
				},
				NoCertificate: "no-such-credential",
			})
		})
	}
}
