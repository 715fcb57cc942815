package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"vanban/signing/cms"
	"vanban/signing/pdf"
	"vanban/signing/signtest"
)

// testRevocation answers for certificates issued by CAs whose keys the test
// holds: a fresh OCSP response "good" and a CRL for each issuer, as a real
// collector would fetch them from the CA's responder and distribution point.
type testRevocation struct {
	keys  map[string]crypto.Signer // issuer subject (DER) -> key
	calls atomic.Int32
}

func newTestRevocation(t testing.TB) *testRevocation {
	t.Helper()
	pki := signtest.TestPKI(t)
	keyPEM := readFile(t, strings.TrimSuffix(pki.CAPEM, "ca.pem")+"ca.key")
	blk, _ := pem.Decode(keyPEM)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	caDER, _ := pem.Decode(readFile(t, pki.CAPEM))
	ca, err := x509.ParseCertificate(caDER.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &testRevocation{keys: map[string]crypto.Signer{string(ca.RawSubject): k.(crypto.Signer)}}
}

func (r *testRevocation) add(ca *testCA) { r.keys[string(ca.cert.RawSubject)] = ca.key }

func (r *testRevocation) collect(ctx context.Context, chain []*x509.Certificate) (*Evidence, error) {
	r.calls.Add(1)
	ev := &Evidence{}
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		key := r.keys[string(issuer.RawSubject)]
		if key == nil {
			continue
		}
		now := time.Now()
		resp, err := ocsp.CreateResponse(issuer, issuer, ocsp.Response{
			Status:       ocsp.Good,
			SerialNumber: cert.SerialNumber,
			ThisUpdate:   now.Add(-time.Minute),
			NextUpdate:   now.Add(time.Hour),
		}, key)
		if err != nil {
			return nil, err
		}
		crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number:     big.NewInt(now.UnixNano()),
			ThisUpdate: now.Add(-time.Minute),
			NextUpdate: now.Add(24 * time.Hour),
		}, issuer, key)
		if err != nil {
			return nil, err
		}
		ev.OCSPs = append(ev.OCSPs, resp)
		ev.CRLs = append(ev.CRLs, crl)
	}
	return ev, nil
}

// dssContents reads the DSS of a file back with our reader.
type dssContents struct {
	certs, ocsps, crls int
	vri                map[string]bool
	sigKeys            []string // VRI keys the file's signatures should have
}

func readDSS(t *testing.T, data []byte) dssContents {
	t.Helper()
	var v vfile
	v.appendBytes(data)
	d, err := openDocument(&v, v.Size())
	if err != nil {
		t.Fatal(err)
	}
	var out dssContents
	dss, err := d.dict(d.catalog.Get("DSS"))
	if err != nil || dss == nil {
		t.Fatalf("no /DSS in the catalog (err %v)", err)
	}
	count := func(key pdf.Name) int {
		a, err := d.array(dss.Get(key))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range a {
			s, err := d.resolve(o)
			if err != nil {
				t.Fatal(err)
			}
			st, ok := s.(*pdf.Stream)
			if !ok {
				t.Fatalf("/DSS /%s holds a %T, not a stream", key, s)
			}
			data, err := st.Decoded(1 << 20)
			if err != nil {
				t.Fatal(err)
			}
			switch key {
			case "Certs":
				if _, err := x509.ParseCertificate(data); err != nil {
					t.Errorf("DSS certificate does not parse: %v", err)
				}
			case "OCSPs":
				if _, err := ocsp.ParseResponse(data, nil); err != nil {
					t.Errorf("DSS OCSP response does not parse: %v", err)
				}
			case "CRLs":
				if _, err := x509.ParseRevocationList(data); err != nil {
					t.Errorf("DSS CRL does not parse: %v", err)
				}
			}
		}
		return len(a)
	}
	out.certs, out.ocsps, out.crls = count("Certs"), count("OCSPs"), count("CRLs")
	out.vri = map[string]bool{}
	if vri, err := d.dict(dss.Get("VRI")); err == nil && vri != nil {
		for _, k := range vri.Keys() {
			out.vri[string(k)] = true
		}
	}
	contents, err := signatureContents(&v)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contents {
		sum := sha1.Sum(c)
		out.sigKeys = append(out.sigKeys, strings.ToUpper(hex.EncodeToString(sum[:])))
	}
	return out
}

// TestSignCorpusBT signs every corpus file at B-T with the dev TSA.
func TestSignCorpusBT(t *testing.T) {
	signtest.RequireTool(t, "pdfsig")
	s := loadTestSigner(t)
	client, _ := newTSA(t)
	for _, f := range signtest.Corpus(t) {
		if certifiedNoChanges(f) {
			continue // see TestSignCorpusBB
		}
		t.Run(f.Name, func(t *testing.T) {
			out := signFile(t, f.Path, s, Options{TSA: client, Level: LevelBT})
			checkSigned(t, out, len(f.Signatures)+1, s.caPEM)
			_, der, err := signtest.ExtractByteRangeAndContents(out)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := cms.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if len(sd.SignatureTimestamp) == 0 {
				t.Fatal("no signature time-stamp in the CMS")
			}
		})
	}
}

// TestLevelsLTAndLTA signs at B-LT and B-LTA, then renews with Extend.
func TestLevelsLTAndLTA(t *testing.T) {
	signtest.RequireTool(t, "pdfsig")
	ctx := context.Background()
	s := loadTestSigner(t)
	client, tsaCA := newTSA(t)
	rev := newTestRevocation(t)
	rev.add(tsaCA)

	for _, name := range []string{"libreoffice-writer.pdf", "pdftex.pdf", "qpdf-aes256-owner.pdf", "two-signatures.pdf"} {
		f := signtest.CorpusFileNamed(t, name)
		t.Run(name, func(t *testing.T) {
			lt := signFile(t, f.Path, s, Options{TSA: client, Revocation: rev.collect, Level: LevelBLT})
			data := readFile(t, lt)
			// The DSS update follows the signature, so pdfsig sees a valid
			// signature that no longer covers the whole file.
			res := signtest.PDFSig(t, lt, s.caPEM)
			last := res[len(res)-1]
			if !last.SignatureValid() || last.TotalDocumentSigned {
				t.Errorf("B-LT signature: valid=%v total=%v", last.SignatureValid(), last.TotalDocumentSigned)
			}
			if err := signtest.QPDFCheck(t, lt); err != nil {
				t.Error(err)
			}
			dss := readDSS(t, data)
			// Signer chain (2) and TSA chain (2) certificates; OCSP and
			// CRL for the signer and the TSA certificates.
			if dss.certs < 4 || dss.ocsps < 2 || dss.crls < 2 {
				t.Errorf("DSS has %d certs, %d OCSPs, %d CRLs", dss.certs, dss.ocsps, dss.crls)
			}
			newest := dss.sigKeys[len(dss.sigKeys)-1]
			if !dss.vri[newest] {
				t.Errorf("no /VRI entry %s for our signature (have %v)", newest, dss.vri)
			}

			lta := signFile(t, f.Path, s, Options{TSA: client, Revocation: rev.collect, Level: LevelBLTA})
			res = signtest.PDFSig(t, lta, s.caPEM)
			var signed []signtest.PDFSigResult
			for _, r := range res {
				if len(r.Ranges) > 0 {
					signed = append(signed, r)
				}
			}
			if len(signed) != len(f.Signatures)+2 {
				t.Fatalf("B-LTA: pdfsig found %d signatures, want %d", len(signed), len(f.Signatures)+2)
			}
			dts := signed[len(signed)-1]
			// poppler 22.12 does not verify ETSI.RFC3161 (it reports the
			// type as unknown); openssl ts -verify does, in checkDocTimestamp.
			if !dts.TotalDocumentSigned || dts.Field == "" {
				t.Errorf("document time-stamp: field %q, total %v", dts.Field, dts.TotalDocumentSigned)
			}
			if !signed[len(signed)-2].SignatureValid() {
				t.Errorf("the signature under the document time-stamp is not valid")
			}
			if err := signtest.QPDFCheck(t, lta); err != nil {
				t.Error(err)
			}
			checkDocTimestamp(t, lta, tsaCA.pem)

			// Archival renewal: LT for everything, then a new time-stamp.
			ltaData := readFile(t, lta)
			var renewed bytes.Buffer
			if err := Extend(ctx, bytes.NewReader(ltaData), int64(len(ltaData)), &renewed, LevelBLTA, Services{TSA: client, Revocation: rev.collect}); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(renewed.Bytes(), ltaData) {
				t.Fatal("Extend did not append")
			}
			rp := writeTemp(t, "renewed.pdf", renewed.Bytes())
			if err := signtest.QPDFCheck(t, rp); err != nil {
				t.Error(err)
			}
			checkDocTimestamp(t, rp, tsaCA.pem)
			dss = readDSS(t, renewed.Bytes())
			for _, k := range dss.sigKeys[:len(dss.sigKeys)-1] {
				if !dss.vri[k] {
					t.Errorf("after renewal no /VRI for signature %s", k)
				}
			}
		})
	}
}

// checkDocTimestamp verifies the last signature of a file as an RFC 3161
// token over its byte range, with openssl ts -verify and with our parser.
func checkDocTimestamp(t *testing.T, path, tsaCAPEM string) {
	t.Helper()
	content, token, err := signtest.ExtractByteRangeAndContents(path)
	if err != nil {
		t.Fatal(err)
	}
	openssl := signtest.RequireTool(t, "openssl")
	dataPath := writeTemp(t, "dts-content.bin", content)
	tokPath := writeTemp(t, "dts-token.der", token)
	out, err := exec.Command(openssl, "ts", "-verify", "-data", dataPath, "-in", tokPath, "-token_in", "-CAfile", tsaCAPEM).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Errorf("openssl ts -verify of the document time-stamp: %v\n%s", err, out)
	}
	sd, err := cms.Parse(token)
	if err != nil {
		t.Fatalf("document time-stamp does not parse: %v", err)
	}
	if err := sd.VerifyEncapsulated(); err != nil {
		t.Fatalf("document time-stamp signature: %v", err)
	}
	var info struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint struct {
			HashAlgorithm struct {
				Algorithm asn1.ObjectIdentifier
			}
			HashedMessage []byte
		}
	}
	if _, err := asn1.Unmarshal(sd.EncapsulatedContent, &info); err != nil {
		t.Fatalf("TSTInfo: %v", err)
	}
	sum := crypto.SHA256.New()
	sum.Write(content)
	if !bytes.Equal(info.MessageImprint.HashedMessage, sum.Sum(nil)) {
		t.Error("document time-stamp imprint does not match the byte range")
	}
}
