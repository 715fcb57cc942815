package etsi204_test

import (
	"testing"
	"time"

	"vanban/signing"
	"vanban/signing/etsi204"
	"vanban/signing/mssp"
	"vanban/signing/providertest"
)

// TestConformance runs the provider suite against the MSSP simulator over
// loopback HTTP, in both messaging modes: an ordinary number approved on
// the virtual phone, and the scenario numbers for the forged, declined
// and certificate-less signers.
func TestConformance(t *testing.T) {
	srv, ts := simulator(t, mssp.Options{Latency: 5 * time.Millisecond})
	for _, mode := range []etsi204.Mode{etsi204.ModeAsync, etsi204.ModeSync} {
		t.Run(modeName(mode), func(t *testing.T) {
			cfg := baseConfig(ts.URL)
			cfg.Mode = mode
			c := newClient(t, cfg)
			phone := "84912345001" // P-256, approved by hand on the phone
			providertest.Run(t, providertest.Harness{
				Provider: c,
				Signer:   phone,
				Approve: func(t *testing.T, signer string, sess *signing.Session) {
					if signer != phone {
						return // scenario numbers answer by themselves
					}
					approveOnPhone(t, srv, phone)
				},
				WrongKey:      providertest.Signer{ID: mssp.ScenarioMSISDN(mssp.ScenarioWrongKey, true)},
				OtherHash:     providertest.Signer{ID: mssp.ScenarioMSISDN(mssp.ScenarioOtherDigest, true)},
				Declines:      mssp.ScenarioMSISDN(mssp.ScenarioDecline, true),
				NoCertificate: mssp.ScenarioMSISDN(mssp.ScenarioNoCertificate, true),
			})
		})
	}
}

// approveOnPhone types the PIN once the request shows on the phone (in
// sync mode Start returns before the MSSP has it).
func approveOnPhone(t *testing.T, srv *mssp.Server, msisdn string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := srv.Phone().Pending(msisdn); ok {
			if err := srv.Phone().Approve(msisdn, "1234"); err != nil {
				t.Fatalf("approve on the phone: %v", err)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the request never showed on the phone")
}
