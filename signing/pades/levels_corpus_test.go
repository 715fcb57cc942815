package pades

import (
	"path/filepath"
	"testing"

	"vanban/signing/signtest"
)

// TestSignCorpusEveryLevel completes the corpus matrix: TestSignCorpusBB
// and TestSignCorpusBT sign every corpus file at B-B and B-T, but B-LT and
// B-LTA were only tried on four files, and no rendering was compared above
// B-B. Here every corpus file is signed at B-T, B-LT and B-LTA; each output
// must render exactly as the original, keep the original as a prefix
// (signFile), and, for B-LT and B-LTA, pass qpdf --check with pdfsig
// finding the new signature and every earlier one valid, openssl
// verifying the new CMS, the /DSS holding a /VRI entry for it, and the
// document time-stamp covering the whole file.
func TestSignCorpusEveryLevel(t *testing.T) {
	signtest.RequireTool(t, "pdfsig")
	signtest.RequireTool(t, "pdftoppm")
	signtest.RequireTool(t, "qpdf")
	signtest.RequireTool(t, "openssl")
	s := loadTestSigner(t)
	client, tsaCA := newTSA(t)
	rev := newTestRevocation(t)
	rev.add(tsaCA)
	for _, f := range signtest.Corpus(t) {
		if certifiedNoChanges(f) {
			continue // adding a signature is refused; see TestSignCorpusBB
		}
		t.Run(f.Name, func(t *testing.T) {
			for _, level := range []Level{LevelBT, LevelBLT, LevelBLTA} {
				out := signFile(t, f.Path, s, Options{TSA: client, Revocation: rev.collect, Level: level, Reason: "Phê duyệt"})
				if err := signtest.SamePages(t, f.Path, out); err != nil {
					t.Errorf("%s: %v", level, err)
				}
				if level == LevelBT {
					continue // the validators run on B-T in TestSignCorpusBT
				}
				checkLevelOutput(t, f, out, level, s, tsaCA)
			}
		})
	}
}

func checkLevelOutput(t *testing.T, f signtest.CorpusFile, out string, level Level, s testSigner, tsaCA *testCA) {
	t.Helper()
	name := filepath.Base(out) + " " + level.String()
	if err := signtest.QPDFCheck(t, out); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	var res []signtest.PDFSigResult
	for _, r := range signtest.PDFSig(t, out, s.caPEM) {
		if len(r.Ranges) > 0 { // empty signature fields are listed too
			res = append(res, r)
		}
	}
	earlier := len(f.Signatures)
	want := earlier + 1
	if level == LevelBLTA {
		want++
	}
	if len(res) != want {
		t.Fatalf("%s: pdfsig found %d signatures, want %d", name, len(res), want)
	}
	ranges, err := signtest.SignedRanges(out)
	if err != nil || len(ranges) != want {
		t.Fatalf("%s: %d signed ranges (%v), want %d", name, len(ranges), err, want)
	}
	for i := range earlier {
		if q, ok := f.Quirk("pdfsig", i); ok && !res[i].SignatureValid() {
			// pdfsig cannot judge it (a document time-stamp): openssl can.
			t.Logf("%s: earlier signature %d: known pdfsig quirk (%s); checked with openssl", name, i+1, q)
			if err := signtest.OpenSSLVerifySignature(t, out, ranges[i], s.caPEM); err != nil {
				t.Errorf("%s: earlier signature %d (%s): openssl: %v", name, i+1, res[i].Field, err)
			}
			continue
		}
		if !res[i].SignatureValid() {
			t.Errorf("%s: earlier signature %d (%s) no longer valid: %q", name, i+1, res[i].Field, res[i].SignatureValidation)
		}
	}
	ours := res[earlier]
	if !ours.SignatureValid() {
		t.Errorf("%s: new signature not valid: %q", name, ours.SignatureValidation)
	}
	// The /DSS revision follows the signature, so it no longer covers the
	// whole file; for B-LTA the document time-stamp does.
	if ours.TotalDocumentSigned {
		t.Errorf("%s: the signature claims to cover the whole file although a /DSS follows", name)
	}
	if err := signtest.OpenSSLVerifySignature(t, out, ranges[earlier], s.caPEM); err != nil {
		t.Errorf("%s: openssl: %v", name, err)
	}
	if level == LevelBLTA {
		if !res[earlier+1].TotalDocumentSigned {
			t.Errorf("%s: the document time-stamp does not cover the whole file", name)
		}
		checkDocTimestamp(t, out, tsaCA.pem)
	}
	dss := readDSS(t, readFile(t, out))
	// The VRI key of our signature (ranges are in file order; ours is the
	// last CAdES one).
	key := dss.sigKeys[earlier]
	if !dss.vri[key] {
		t.Errorf("%s: no /VRI entry %s for the new signature", name, key)
	}
	if dss.certs < 4 || dss.ocsps < 2 || dss.crls < 2 {
		t.Errorf("%s: DSS has %d certs, %d OCSPs, %d CRLs", name, dss.certs, dss.ocsps, dss.crls)
	}
}
