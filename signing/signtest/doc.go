// Package signtest gives tests of the signing packages two things they cannot make themselves:
// PDFs written by tools we did not write (the corpus in testdata/corpus) and independent
// validators (pdfsig, mutool, qpdf, openssl, pdftoppm) whose verdicts come back as Go values.
//
// It is a test helper package: every function that runs a tool takes a testing.TB, skips the test
// with a visible reason when the tool is missing, and fails it instead when the environment says
// VANBAN_REQUIRE_SERVICES=1 (CI). It uses only the standard library and os/exec, and imports no
// vanban package, so the signer and the verifier can both use it without an import cycle and
// without checking themselves with their own code.
//
// A signer test typically looks like this:
//
//	pki := signtest.TestPKI(t)
//	for _, f := range signtest.Corpus(t) {
//		out := signWithOurEngine(t, f.Path, pki.SignerP12, pki.P12Password, f.OwnerPassword)
//		if err := signtest.QPDFCheck(t, out); err != nil {
//			t.Error(err)
//		}
//		sigs := signtest.PDFSig(t, out, pki.CAPEM)
//		last := sigs[len(sigs)-1]
//		if !last.SignatureValid() || !last.CertificateTrusted() || !last.TotalDocumentSigned {
//			t.Errorf("%s: %+v", f.Name, last)
//		}
//		if err := signtest.OpenSSLVerifyLastSignature(t, out, pki.CAPEM); err != nil {
//			t.Error(err)
//		}
//		if err := signtest.SamePages(t, f.Path, out); err != nil { // invisible signature
//			t.Error(err)
//		}
//	}
//
// Tool versions the parsers were written against: poppler 22.12, MuPDF 1.21, qpdf 11.3,
// OpenSSL 3.0 (Debian 12).
package signtest
