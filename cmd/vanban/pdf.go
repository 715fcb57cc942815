package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"vanban/signing"
	_ "vanban/signing/csc"     // csc: cloud signing
	_ "vanban/signing/etsi204" // etsi204: mobile SIM through an MSSP
	_ "vanban/signing/keyfile" // file: PKCS#12 and PEM keys
	"vanban/signing/pades"
	_ "vanban/signing/pkcs11" // pkcs11: HSM or token
	"vanban/signing/revocation"
	"vanban/signing/tsa"
)

func runPDF(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"sign":   runPDFSign,
		"extend": runPDFExtend,
	}
	if len(args) == 0 || sub[args[0]] == nil {
		fmt.Fprintln(stderr, "Usage: vanban pdf sign|extend [flags]   (vanban pdf <cmd> --help)")
		return exitError{2}
	}
	return sub[args[0]](ctx, args[1:], stdout, stderr)
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runPDFSign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban pdf sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "PDF to sign (required)")
	out := fs.String("out", "", "signed PDF to write (required; written atomically)")
	signerURI := fs.String("signer", "", "signer URI: file:KEY.p12?pass-env=VAR, pkcs11:token=..;object=..?module-path=..&pin-env=.., etsi204:https://mssp/soap?msisdn=.., csc:https://..")
	signerID := fs.String("signer-id", "", "signer within the provider (phone number, CSC credential) when the URI names none")
	level := fs.String("level", "", "PAdES level: B-B, B-T, B-LT or B-LTA (default B-B, or B-T with --tsa)")
	tsaURL := fs.String("tsa", "", "RFC 3161 time-stamp authority URL (B-T and above)")
	var trust multiFlag
	fs.Var(&trust, "trust", "PEM file of trust anchors for collecting revocation data (B-LT, B-LTA); repeatable")
	certify := fs.Bool("certify", false, "make a certification signature (DocMDP P=2: form filling and signing stay permitted)")
	page := fs.Int("page", 1, "page of the visible signature")
	rect := fs.String("rect", "", "visible signature rectangle x,y,w,h in points from the lower-left corner (omit for an invisible signature)")
	image := fs.String("image", "", "PNG (with transparency) drawn in the visible signature")
	reason := fs.String("reason", "", "reason (/Reason)")
	location := fs.String("location", "", "location (/Location)")
	field := fs.String("field", "", "signature field name (an existing empty signature field is signed)")
	pss := fs.Bool("pss", false, "RSA-PSS instead of PKCS#1 v1.5 for RSA keys")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the signer (a phone)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || *signerURI == "" {
		fs.Usage()
		return errors.New("--in, --out and --signer are required")
	}
	opts := pades.Options{Reason: *reason, Location: *location, FieldName: *field, PSS: *pss}
	if *level != "" {
		l, err := pades.ParseLevel(*level)
		if err != nil {
			return fmt.Errorf("--level: %w", err)
		}
		opts.Level = l
	}
	if err := timestampingOptions(&opts, *tsaURL, trust); err != nil {
		return err
	}
	if *certify {
		opts.Certify = 2
	}
	if *rect != "" {
		r, err := parseRect(*rect)
		if err != nil {
			return fmt.Errorf("--rect: %w", err)
		}
		ap := &pades.Appearance{Page: *page, Rect: r}
		if *image != "" {
			b, err := os.ReadFile(*image)
			if err != nil {
				return fmt.Errorf("--image: %w", err)
			}
			ap.Image = b
		}
		opts.Appearance = ap
	}

	provider, err := signing.Open(*signerURI, nil)
	if err != nil {
		return fmt.Errorf("--signer: %w", err)
	}
	if c, ok := provider.(signing.Closer); ok {
		defer c.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	wait := signing.WaitOptions{OnSession: func(s *signing.Session) {
		if s.VerificationCode != "" {
			fmt.Fprintf(stderr, "Mã xác nhận / verification code: %s — xác nhận trên điện thoại / confirm on the phone\n", s.VerificationCode)
		}
	}}
	return transformFile(*in, *out, func(src *os.File, size int64, dst io.Writer) error {
		return pades.SignWith(ctx, src, size, dst, provider, *signerID, opts, wait)
	})
}

func runPDFExtend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vanban pdf extend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "signed PDF (required)")
	out := fs.String("out", "", "extended PDF to write (required)")
	level := fs.String("level", "B-LTA", "target level: B-LT (add /DSS) or B-LTA (/DSS and a document time-stamp)")
	tsaURL := fs.String("tsa", "", "RFC 3161 time-stamp authority URL (B-LTA)")
	var trust multiFlag
	fs.Var(&trust, "trust", "PEM file of trust anchors for collecting revocation data; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return errors.New("--in and --out are required")
	}
	l, err := pades.ParseLevel(*level)
	if err != nil {
		return fmt.Errorf("--level: %w", err)
	}
	var opts pades.Options
	if err := timestampingOptions(&opts, *tsaURL, trust); err != nil {
		return err
	}
	svc := pades.Services{TSA: opts.TSA, Revocation: opts.Revocation}
	return transformFile(*in, *out, func(src *os.File, size int64, dst io.Writer) error {
		return pades.Extend(ctx, src, size, dst, l, svc)
	})
}

// timestampingOptions sets the TSA client and the revocation collector.
func timestampingOptions(opts *pades.Options, tsaURL string, trustFiles []string) error {
	client := &http.Client{Timeout: 30 * time.Second}
	if tsaURL != "" {
		opts.TSA = &tsa.Client{URL: tsaURL, HTTPClient: client}
	}
	if len(trustFiles) == 0 {
		if opts.Level >= pades.LevelBLT {
			return errors.New("--level B-LT and B-LTA need --trust (the anchors revocation data is collected up to)")
		}
		return nil
	}
	roots, err := loadCertPool(trustFiles)
	if err != nil {
		return err
	}
	opts.Revocation = func(ctx context.Context, chain []*x509.Certificate) (*pades.Evidence, error) {
		ev, err := revocation.Collect(ctx, chain, roots, client)
		if err != nil {
			return nil, err
		}
		return &pades.Evidence{Certs: ev.Certs, OCSPs: ev.OCSPs, CRLs: ev.CRLs}, nil
	}
	return nil
}

func loadCertPool(files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, f := range files {
		certs, err := readCertificates(f)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}

func readCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--trust: %w", err)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("--trust %s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--trust %s: no PEM certificate", path)
	}
	return out, nil
}

func parseRect(s string) (pades.Rect, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return pades.Rect{}, errors.New("want x,y,w,h")
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return pades.Rect{}, fmt.Errorf("%q is not a number", p)
		}
		v[i] = f
	}
	if v[2] <= 0 || v[3] <= 0 {
		return pades.Rect{}, errors.New("width and height must be positive")
	}
	return pades.Rect{LLX: v[0], LLY: v[1], URX: v[0] + v[2], URY: v[1] + v[3]}, nil
}

// transformFile streams in through fn into a temporary file next to out and
// renames it into place only on success, so a failed signature never leaves
// a half-written output.
func transformFile(in, out string, fn func(src *os.File, size int64, dst io.Writer) error) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".vanban-*.pdf")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fn(src, st.Size(), tmp); err != nil {
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
	return os.Rename(tmp.Name(), out)
}
