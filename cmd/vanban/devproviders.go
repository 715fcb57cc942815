package main

import (
	"crypto"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"

	"github.com/gin-gonic/gin"

	"vanban/signing/devpki"
	_ "vanban/signing/mysign" // mysign: Viettel MySign remote signing
	"vanban/signing/mysign/mysignsim"
	_ "vanban/signing/smartca" // smartca: VNPT SmartCA remote signing
	"vanban/signing/smartca/smartcasim"
)

// The remote-signing services' simulators mounted next to the MSSP
// simulator, each under /dev/<name>/ with its users' keys issued by the
// development PKI, and each configured as the provider of the same name,
// so that a leader's signing identity can name any of them.
const (
	devSmartCAPrefix = devPrefix + "/smartca/"
	devSmartCASPID   = "vanban-dev"
	devMySignPrefix  = devPrefix + "/mysign/"
	devMySignClient  = "vanban-dev"
	devMySignProfile = "adss:ras:profile:001"
)

// devApprovingSigner is, per simulated provider, the signer who approves
// by itself: the demo's default leader identity for that provider.
var devApprovingSigner = map[string]string{
	"smartca": smartcasim.ScenarioUser(smartcasim.ScenarioApprove),
	"mysign":  mysignsim.ScenarioUser(mysignsim.ScenarioApprove),
}

// devProvider is one simulated remote-signing service.
type devProvider struct {
	// URI is the provider's signer URI; PhonePageURL prefixes its virtual
	// phones (append a user id); SimulatorURL lists its scenario users.
	URI, PhonePageURL, SimulatorURL string
	close                           func()
}

// mountDevProviders mounts the remote-signing simulators on router and
// returns them by provider name. Secrets are generated into dir, like the
// MSSP's AP password, so the URIs have an operator's shape.
func mountDevProviders(router *gin.Engine, base, dir string, pki *devpki.PKI, log *slog.Logger) (map[string]devProvider, error) {
	out := map[string]devProvider{}
	spFile, cbFile := filepath.Join(dir, "smartca-sp.pass"), filepath.Join(dir, "smartca-callback.pass")
	spPass, err := generatedSecret(spFile)
	if err != nil {
		return nil, err
	}
	cbSecret, err := generatedSecret(cbFile)
	if err != nil {
		return nil, err
	}
	sim, err := smartcasim.NewServer(smartcasim.Options{
		SPID: devSmartCASPID, SPPassword: spPass,
		// SmartCA calls the service provider back; here that is us.
		CallbackURL: base + "/api/v1/signing/callback/smartca", CallbackSecret: cbSecret,
		Issuer: func(user, cn string) (crypto.Signer, []*x509.Certificate, error) {
			return pki.IssueSigner(cn, "", "rsa2048", devpki.Person)
		},
		KeyDir:    filepath.Join(dir, "smartca-users"),
		Latency:   devSimLatency,
		PhonePath: devSmartCAPrefix + "phone/",
		Logger:    log.With("component", "smartca-sim"),
	})
	if err != nil {
		return nil, err
	}
	router.Any(devSmartCAPrefix+"*path", gin.WrapH(http.StripPrefix(devSmartCAPrefix[:len(devSmartCAPrefix)-1], sim)))
	q := url.Values{"sp-id": {devSmartCASPID}, "sp-password-file": {spFile}, "callback-secret-file": {cbFile}}
	out["smartca"] = devProvider{
		URI:          "smartca:" + base + devSmartCAPrefix + "?" + q.Encode(),
		PhonePageURL: base + devSmartCAPrefix + "phone/",
		SimulatorURL: base + devSmartCAPrefix,
		close:        sim.Close,
	}

	secretFile := filepath.Join(dir, "mysign-client.pass")
	secret, err := generatedSecret(secretFile)
	if err != nil {
		sim.Close()
		return nil, err
	}
	ms, err := mysignsim.NewServer(mysignsim.Options{
		ClientID: devMySignClient, ClientSecret: secret, ProfileID: devMySignProfile,
		Issuer: func(user, cn string) (crypto.Signer, []*x509.Certificate, error) {
			return pki.IssueSigner(cn, "", "rsa2048", devpki.Person)
		},
		Latency:   devSimLatency,
		PhonePath: devMySignPrefix + "phone/",
		Logger:    log.With("component", "mysign-sim"),
	})
	if err != nil {
		sim.Close()
		return nil, err
	}
	router.Any(devMySignPrefix+"*path", gin.WrapH(http.StripPrefix(devMySignPrefix[:len(devMySignPrefix)-1], ms)))
	mq := url.Values{"client-id": {devMySignClient}, "client-secret-file": {secretFile}, "profile-id": {devMySignProfile}}
	out["mysign"] = devProvider{
		URI:          "mysign:" + base + devMySignPrefix + "?" + mq.Encode(),
		PhonePageURL: base + devMySignPrefix + "phone/",
		SimulatorURL: base + devMySignPrefix,
		close:        ms.Close,
	}
	return out, nil
}
