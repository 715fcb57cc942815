package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"vanban/signing/devpki"
	"vanban/signing/mssp"
)

// runMSSPSim runs the ETSI TS 102 204 simulator on its own, for developers
// and load tests. SIM keys chain to the development PKI kept in its data
// directory, which it also serves under /pki/ (OCSP, CRL, TSA, root).
func runMSSPSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban mssp-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("VANBAN_MSSP_ADDR", "127.0.0.1:9090"), "address to listen on [env VANBAN_MSSP_ADDR]")
	publicURL := fs.String("public-url", os.Getenv("VANBAN_MSSP_PUBLIC_URL"), "URL clients reach the simulator at (default http(s)://addr) [env VANBAN_MSSP_PUBLIC_URL]")
	dataDir := fs.String("data-dir", envOr("VANBAN_MSSP_DATA_DIR", "./data/mssp"), "keeps the development PKI and SIM keys across restarts [env VANBAN_MSSP_DATA_DIR]")
	autoApprove := fs.Bool("auto-approve", false, "approve every request after --latency without anyone at the phone (load tests)")
	latency := fs.Duration("latency", 2*time.Second, "how long simulated signers take on scenario numbers and in auto-approve mode")
	responseDelay := fs.Duration("response-delay", 0, "hold every SOAP answer back this long (a slow MSSP)")
	pin := fs.String("pin", "1234", "PIN of every virtual phone")
	apID := fs.String("ap-id", "", "accept only this AP_ID (with --ap-pwd-env); default accepts any")
	apPwdEnv := fs.String("ap-pwd-env", "", "environment variable holding the AP_PWD for --ap-id")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM)")
	tlsKey := fs.String("tls-key", "", "private key for --tls-cert (PEM)")
	clientCA := fs.String("client-ca", "", "require application-provider client certificates issued by these CAs (PEM; needs --tls-cert)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	if *publicURL == "" {
		*publicURL = scheme + "://" + *addr
	}
	opts := mssp.Options{
		DefaultPIN:    *pin,
		AutoApprove:   *autoApprove,
		Latency:       *latency,
		ResponseDelay: *responseDelay,
	}
	if *apID != "" {
		pwd := ""
		if *apPwdEnv != "" {
			pwd = os.Getenv(*apPwdEnv)
		}
		opts.APs = map[string]string{*apID: pwd}
	}
	if *clientCA != "" {
		if *tlsCert == "" {
			return errors.New("--client-ca needs --tls-cert and --tls-key")
		}
		pem, err := os.ReadFile(*clientCA)
		if err != nil {
			return fmt.Errorf("--client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--client-ca %s holds no PEM certificate", *clientCA)
		}
		opts.RequireClientCert, opts.ClientCAs = true, pool
	}
	pki, sim, err := openDevStack(*publicURL, *dataDir, opts)
	if err != nil {
		return fmt.Errorf("--data-dir %s: %w", *dataDir, err)
	}
	defer sim.Close()
	mux := http.NewServeMux()
	mux.Handle("/pki/", pki.Handler())
	mux.Handle("/", sim)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		srv.TLSConfig = sim.TLSConfig(cert)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", *addr, err)
	}
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	fmt.Fprintf(stdout, "MSSP simulator at %s://%s (SOAP /soap, phones /phone/<msisdn>, PKI /pki/)\n", scheme, ln.Addr())
	fmt.Fprintf(stdout, "signer URI: etsi204:%s/soap?msisdn=84912345678&mode=async\n", *publicURL)
	return serveUntilDone(ctx, srv, ln, 10*time.Second)
}

// openDevStack opens the development PKI kept in dir/pki (creating it on
// first use), its certificates pointing at pkiBase (the URL its Handler is
// served under), and an MSSP simulator whose SIM keys it issues and keeps in
// dir/sims. mssp-sim and the embedded server both use it, so that the same
// directory layout works for either and phones keep their certificates
// across restarts.
func openDevStack(pkiBase, dir string, opts mssp.Options) (*devpki.PKI, *mssp.Server, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, err
	}
	pki, err := devpki.New(pkiBase, filepath.Join(dir, "pki"))
	if err != nil {
		return nil, nil, fmt.Errorf("development PKI: %w", err)
	}
	opts.Issuer = devPKIIssuer(pki)
	opts.KeyDir = filepath.Join(dir, "sims")
	sim, err := mssp.NewServer(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("MSSP simulator: %w", err)
	}
	return pki, sim, nil
}

// devPKIIssuer issues SIM keys from the development PKI, so that signatures
// made through the simulator chain to the development root.
func devPKIIssuer(pki *devpki.PKI) mssp.IssuerFunc {
	return func(msisdn, commonName string, ec bool) (crypto.Signer, []*x509.Certificate, error) {
		keyType := "rsa2048"
		if ec {
			keyType = "p256"
		}
		return pki.IssueSigner(commonName, mssp.DevelopmentMarker, keyType, devpki.Person)
	}
}

// serveUntilDone serves until ctx ends, then shuts down gracefully.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
