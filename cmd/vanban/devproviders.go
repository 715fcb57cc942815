package main

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"software.sslmate.com/src/go-pkcs12"

	"vanban/signing/devpki"
	_ "vanban/signing/esigncloud" // esigncloud, vgca: FPT CA eSignCloud, the Government CA's mobile PKI
	"vanban/signing/esigncloud/esigncloudsim"
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
	// eSignCloud and the Government CA name agreements, not users.
	"esigncloud": esigncloudsim.ScenarioAgreement(esigncloudsim.ScenarioApprove),
	"vgca":       esigncloudsim.ScenarioAgreement(esigncloudsim.ScenarioApprove),
}

// devRelyingParties are the two relying-party services simulated: their
// provider name, the page title and their method names (the Government
// CA's differ from FPT's, to show that they are configuration).
var devRelyingParties = []struct {
	name, title string
	methods     esigncloudsim.Methods
}{
	{"esigncloud", "FPT CA eSignCloud", esigncloudsim.FPTMethods},
	{"vgca", "Ban Cơ yếu Chính phủ – ký số di động", esigncloudsim.Methods{Certificate: "certificate", Prepare: "prepareHashSigning", Authorize: "authorizeSigning"}},
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
		KeyDir: filepath.Join(dir, "smartca-users"),
		// Its transactions outlive a crash of this process, which it
		// shares: a confirmation given on the phone is not lost.
		StateDir:  filepath.Join(dir, "smartca"),
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
		closeAll(out)
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
		closeAll(out)
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

	p12File, p12PassFile, rpCert, err := devRelyingParty(pki, dir)
	if err != nil {
		closeAll(out)
		return nil, fmt.Errorf("relying-party key: %w", err)
	}
	rpPassFile := filepath.Join(dir, "esigncloud-rp.pass")
	rpPass, err := generatedSecret(rpPassFile)
	if err != nil {
		closeAll(out)
		return nil, err
	}
	for _, rp := range devRelyingParties {
		prefix := devPrefix + "/" + rp.name + "/"
		es, err := esigncloudsim.NewServer(esigncloudsim.Options{
			Name: rp.title, Methods: rp.methods,
			RelyingParties: map[string]esigncloudsim.RelyingParty{"VANBAN-DEV": {User: "vanban-dev", Password: rpPass, Certificate: rpCert}},
			Issuer: func(a, cn string) (crypto.Signer, []*x509.Certificate, error) {
				return pki.IssueSigner(cn, "", "rsa2048", devpki.Person)
			},
			Latency:   devSimLatency,
			PhonePath: prefix + "phone/",
			Logger:    log.With("component", rp.name+"-sim"),
		})
		if err != nil {
			closeAll(out)
			return nil, err
		}
		router.Any(prefix+"*path", gin.WrapH(http.StripPrefix(prefix[:len(prefix)-1], es)))
		eq := url.Values{"relying-party": {"VANBAN-DEV"}, "rp-user": {"vanban-dev"}, "rp-password-file": {rpPassFile},
			"rp-key": {p12File}, "rp-key-pass-file": {p12PassFile},
			"methods": {strings.Join([]string{rp.methods.Certificate, rp.methods.Prepare, rp.methods.Authorize}, ",")}}
		out[rp.name] = devProvider{
			URI:          rp.name + ":" + base + prefix + "?" + eq.Encode(),
			PhonePageURL: base + prefix + "phone/",
			SimulatorURL: base + prefix,
			close:        es.Close,
		}
	}
	return out, nil
}

func closeAll(ps map[string]devProvider) {
	for _, p := range ps {
		p.close()
	}
}

// devRelyingParty returns vanban's relying-party PKCS#12 for the
// eSignCloud-shaped simulators (issued by the development PKI into dir on
// first use), its passphrase file and its certificate.
func devRelyingParty(pki *devpki.PKI, dir string) (p12File, passFile string, cert *x509.Certificate, err error) {
	p12File, passFile = filepath.Join(dir, "esigncloud-rp.p12"), filepath.Join(dir, "esigncloud-rp.p12.pass")
	pass, err := generatedSecret(passFile)
	if err != nil {
		return "", "", nil, err
	}
	data, err := os.ReadFile(p12File)
	if err == nil {
		if _, c, _, err := pkcs12.DecodeChain(data, pass); err == nil && time.Now().Before(c.NotAfter) {
			return p12File, passFile, c, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", nil, err
	}
	key, chain, err := pki.IssueSigner("vanban relying party (development)", "vanban", devpki.KeyRSA2048, devpki.Organization)
	if err != nil {
		return "", "", nil, err
	}
	pfx, err := pkcs12.Modern.Encode(key, chain[0], chain[1:], pass)
	if err != nil {
		return "", "", nil, err
	}
	if err := writeFileAtomic(p12File, pfx); err != nil {
		return "", "", nil, err
	}
	return p12File, passFile, chain[0], nil
}
