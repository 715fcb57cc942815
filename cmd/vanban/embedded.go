package main

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"software.sslmate.com/src/go-pkcs12"

	"vanban/internal/config"
	"vanban/signing/devpki"
	"vanban/signing/etsi204"
	"vanban/signing/mssp"
)

// Where the development services live on the server. devpki serves its
// endpoints under /pki/ of its base URL, so its base is <public>/dev.
const (
	devPrefix     = "/dev"
	devPKIPrefix  = devPrefix + "/pki/"
	devMSSPPrefix = devPrefix + "/mssp/"

	// devAPID is the application provider vanban is at the simulator; its
	// password is generated into the data directory so that the signer
	// URI has the same shape (and the same secret handling) as an
	// operator's.
	devAPID   = "vanban-dev"
	devMSSPID = "http://mssp.vanban.invalid/"
	// devSimLatency is how long scenario numbers take to answer: long
	// enough to see the pending state and the verification code in the
	// UI, short enough not to slow anyone down.
	devSimLatency = 2 * time.Second
	// devSampleMSISDN is the phone number shown in the startup message.
	devSampleMSISDN = "84912345678"
	// devSealName names the office whose seal the development CA issues.
	devSealName = "Văn phòng thử nghiệm vanban"
	// sealMinValidity: a seal certificate closer than this to its expiry
	// is replaced at start rather than fail a signature later.
	sealMinValidity = 30 * 24 * time.Hour
)

// DevServices says how to reach the development PKI and the SIM simulator
// that serve runs in process (VANBAN_DEV_SERVICES), so that the signing
// wiring can use them like an operator's MSSP, TSA and CA.
type DevServices struct {
	// MobileURI is the etsi204 signer URI of the simulator, with vanban's
	// AP credentials and no phone number: one provider opened from it
	// signs for any phone named in Request.SignerID. MobileSignerURI adds
	// a number for a provider bound to one phone.
	MobileURI string
	// PhonePageURL is the prefix of the virtual phone pages: append a
	// phone number (84912345678) to open that phone.
	PhonePageURL string
	// SimulatorURL is the simulator's page listing the scenario numbers.
	SimulatorURL string
	// TSAURL is the RFC 3161 time-stamping endpoint (PAdES B-T and above).
	TSAURL string
	// RootPEMURL serves the trust anchor for people and validators.
	RootPEMURL string
	// Roots holds the development root, the trust anchor of every
	// certificate issued here (SIM keys, the seal, TSA and OCSP).
	Roots *x509.CertPool
	// Certificates are the root and the issuing CA, for path building,
	// revocation collection and PEM export.
	Certificates []*x509.Certificate
	// SealURI is a file: signer URI for the office seal: a PKCS#12 issued
	// by the development CA in <data-dir>/dev, opened with a generated
	// passphrase file next to it.
	SealURI string
	// Remote are the simulated remote-signing services (smartca, ...),
	// each configured as the provider of its name (devproviders.go).
	Remote map[string]devProvider

	// ExchangeURI is the transport URI of the exchange hub mounted under
	// /dev/exchange/ (liên thông văn bản between this installation's
	// organizations); exchangeHub is closed with the services.
	ExchangeURI string
	exchangeHub io.Closer

	pki *devpki.PKI
	sim *mssp.Server
}

// PhoneKey returns the per-request secret that opens the virtual phone of
// msisdn for the signing session whose provider transaction is txID (the
// etsi204 TxID), or "" when txID names no transaction at the simulator.
func (d *DevServices) PhoneKey(msisdn, txID string) string {
	id, ok := etsi204.MSSPTransID(txID)
	if !ok {
		return ""
	}
	return d.sim.PhoneKey(msisdn, id)
}

// devBanner is what serve says, loudly, when the development services run.
func devBanner(cfg *config.Config) string {
	where := "on loopback only (" + cfg.Addr + ")"
	if !cfg.LoopbackAddr() {
		where = "ON THE NETWORK (" + cfg.Addr + ", VANBAN_DEV_SERVICES_ON_NETWORK=yes): anyone who reaches this server can use them"
	}
	return strings.Join([]string{
		"",
		"********************************************************************",
		"*  DEVELOPMENT SERVICES ARE ON — " + mssp.DevelopmentMarker,
		"*  A development CA, TSA and SIM simulator run under /dev/, " + where + ".",
		"*  Their keys sit in the data directory; signatures made with them",
		"*  are marked development and have no legal value.",
		"*  Production: VANBAN_DEV_SERVICES=off and real VANBAN_SIGNERS.",
		"********************************************************************",
	}, "\n")
}

// MobileSignerURI returns the etsi204 signer URI bound to one phone number.
func (d *DevServices) MobileSignerURI(msisdn string) string {
	return d.MobileURI + "&msisdn=" + url.QueryEscape(msisdn)
}

// Close ends the simulator's pending transactions and timers. It is safe
// on a nil *DevServices (development services off).
func (d *DevServices) Close() {
	if d != nil && d.sim != nil {
		d.sim.Close()
	}
	if d != nil && d.exchangeHub != nil {
		d.exchangeHub.Close()
	}
	if d != nil {
		for _, r := range d.Remote {
			r.close()
		}
	}
}

// startDevServices mounts the development PKI under /dev/pki/ and the MSSP
// simulator under /dev/mssp/ on router when cfg enables them, and returns
// how to reach them; nil when they are off. addr is the listener's address:
// with the default public URL (http://<addr>) and VANBAN_ADDR port 0, the
// port actually bound replaces the 0, because the URLs end up inside
// certificates and signer URIs that must be reachable. Keys and state stay under
// <data-dir>/dev so that a restart keeps the same CA, SIM keys and seal.
func startDevServices(router *gin.Engine, cfg *config.Config, addr net.Addr, log *slog.Logger, stdout io.Writer) (*DevServices, error) {
	if !cfg.DevServicesEnabled() {
		if cfg.DevServices == "auto" && cfg.IsEmbedded() && !cfg.LoopbackAddr() {
			log.Info("development PKI and SIM simulator are off: VANBAN_ADDR is not a loopback address (see VANBAN_DEV_SERVICES)", "addr", cfg.Addr)
		}
		return nil, nil
	}
	base := cfg.PublicURL
	if host, port, err := net.SplitHostPort(cfg.Addr); err == nil && port == "0" && addr != nil && cfg.PublicURL == "http://"+cfg.Addr {
		if _, bound, err := net.SplitHostPort(addr.String()); err == nil {
			base = "http://" + net.JoinHostPort(host, bound)
		}
	}
	dir := filepath.Join(cfg.DataDir, "dev")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &config.Error{Setting: "VANBAN_DATA_DIR", Value: cfg.DataDir, Reason: err.Error()}
	}
	apPwdFile := filepath.Join(dir, "mssp-ap.pass")
	apPwd, err := generatedSecret(apPwdFile)
	if err != nil {
		return nil, fmt.Errorf("development services: %w", err)
	}
	pki, sim, err := openDevStack(base+devPrefix, dir, mssp.Options{
		SOAPPath:  devMSSPPrefix + "soap",
		CertPath:  devMSSPPrefix + "certificates",
		PhonePath: devMSSPPrefix + "phone/",
		MSSPID:    devMSSPID,
		APs:       map[string]string{devAPID: apPwd},
		Latency:   devSimLatency,
		Logger:    log.With("component", "mssp-sim"),
	})
	if err != nil {
		return nil, fmt.Errorf("development services in %s: %w", dir, err)
	}
	sealURI, err := devSeal(pki, dir, log)
	if err != nil {
		sim.Close()
		return nil, fmt.Errorf("development seal in %s: %w", dir, err)
	}

	router.Any(devPKIPrefix+"*path", gin.WrapH(http.StripPrefix(devPrefix, pki.Handler())))
	router.Any(devMSSPPrefix+"*path", gin.WrapH(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The simulator's paths are configured with our prefix, except its
		// index page, which it serves at "/" only.
		if r.URL.Path == devMSSPPrefix {
			r = r.Clone(r.Context())
			r.URL.Path, r.URL.RawPath = "/", ""
		}
		sim.ServeHTTP(w, r)
	})))

	exchangeURI, exchangeHub, err := mountDevExchange(router, dir, base, log)
	if err != nil {
		sim.Close()
		return nil, fmt.Errorf("development exchange hub in %s: %w", dir, err)
	}

	remote, err := mountDevProviders(router, base, dir, pki, log)
	if err != nil {
		sim.Close()
		exchangeHub.Close()
		return nil, fmt.Errorf("development remote-signing simulators in %s: %w", dir, err)
	}
	q := url.Values{
		"ap-id":       {devAPID},
		"ap-pwd-file": {apPwdFile},
		"mssp-id":     {devMSSPID},
		"mode":        {"async"},
		"cert-lookup": {base + devMSSPPrefix + "certificates"},
	}
	d := &DevServices{
		MobileURI:    "etsi204:" + base + devMSSPPrefix + "soap?" + q.Encode(),
		PhonePageURL: base + devMSSPPrefix + "phone/",
		SimulatorURL: base + devMSSPPrefix,
		TSAURL:       pki.TSAURL(),
		RootPEMURL:   pki.RootURL(),
		Roots:        pki.Roots(),
		Certificates: []*x509.Certificate{pki.Root(), pki.Issuing()},
		SealURI:      sealURI,
		ExchangeURI:  exchangeURI,
		exchangeHub:  exchangeHub,
		Remote:       remote,
		pki:          pki,
		sim:          sim,
	}
	log.Warn(devBanner(cfg), "dir", dir, "addr", cfg.Addr, "loopback", cfg.LoopbackAddr())
	fmt.Fprintln(stdout, devBanner(cfg))
	log.Info("development services", "virtual_phones", d.PhonePageURL+"<number>", "simulator", d.SimulatorURL,
		"tsa", d.TSAURL, "root", d.RootPEMURL, "dir", dir)
	// The signer URIs name files, not secrets, and let a newcomer try
	// "vanban pdf sign --signer ..." against this server at once.
	fmt.Fprintf(stdout, "virtual phones at %s%s (scenario numbers at %s)\n", d.PhonePageURL, devSampleMSISDN, d.SimulatorURL)
	fmt.Fprintf(stdout, "development root CA at %s, time-stamps at %s\n", d.RootPEMURL, d.TSAURL)
	fmt.Fprintf(stdout, "mobile signer URI: %s\n", d.MobileSignerURI(devSampleMSISDN))
	fmt.Fprintf(stdout, "seal signer URI: %s\n", d.SealURI)
	for name, r := range remote {
		fmt.Fprintf(stdout, "%s simulator at %s (virtual phones at %s<user id>)\n", name, r.SimulatorURL, r.PhonePageURL)
	}
	return d, nil
}

// devSeal returns the file: signer URI of the development office seal,
// issuing it into dir/seal.p12 (passphrase in dir/seal.pass) on first use.
// A seal that is unreadable, about to expire or issued by another CA (the
// PKI directory was removed) is replaced: it is development data, and a
// seal that cannot sign is worse than a new one.
func devSeal(pki *devpki.PKI, dir string, log *slog.Logger) (string, error) {
	p12File, passFile := filepath.Join(dir, "seal.p12"), filepath.Join(dir, "seal.pass")
	uri := (&url.URL{Scheme: "file", OmitHost: true, Path: p12File, RawQuery: url.Values{"pass-file": {passFile}}.Encode()}).String()
	pass, err := generatedSecret(passFile)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(p12File)
	switch {
	case err == nil:
		reason := sealUnusable(pki, data, pass)
		if reason == "" {
			return uri, nil
		}
		log.Warn("replacing the development seal", "file", p12File, "reason", reason)
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	key, chain, err := pki.IssueSigner(devSealName, devSealName+" — "+mssp.DevelopmentMarker, devpki.KeyRSA2048, devpki.Organization)
	if err != nil {
		return "", err
	}
	pfx, err := pkcs12.Modern.Encode(key, chain[0], chain[1:], pass)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(p12File, pfx); err != nil {
		return "", err
	}
	return uri, nil
}

// sealUnusable says why a saved seal cannot be used, or "" if it can.
func sealUnusable(pki *devpki.PKI, data []byte, pass string) string {
	_, leaf, cas, err := pkcs12.DecodeChain(data, pass)
	if err != nil {
		return err.Error()
	}
	if time.Until(leaf.NotAfter) < sealMinValidity {
		return "certificate expires " + leaf.NotAfter.Format(time.DateOnly)
	}
	inter := x509.NewCertPool()
	for _, c := range cas {
		inter.AddCert(c)
	}
	inter.AddCert(pki.Issuing())
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pki.Roots(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return "not issued by the development CA: " + err.Error()
	}
	return ""
}

// generatedSecret returns the secret kept in path, generating a random one
// there (mode 0600) on first use.
func generatedSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	s := hex.EncodeToString(raw)
	if err := writeFileAtomic(path, []byte(s+"\n")); err != nil {
		return "", err
	}
	return s, nil
}

// writeFileAtomic writes a private file through a temporary file and a
// rename, so that a crash never leaves half a key behind.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
