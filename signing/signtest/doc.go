// Package signtest gives tests of the signing packages two things they cannot make themselves:
// PDFs written by tools we did not write (the corpus in testdata/corpus) and independent
// validators (pdfsig, mutool, qpdf, openssl, pdftoppm) whose verdicts come back as Go values.
//
// It is a test helper package: every function that runs a tool takes a testing.TB, skips the test
// with a visible reason when the tool is missing, and fails it instead when the environment says
// VANBAN_REQUIRE_SERVICES=1 (CI). It uses only the standard library and os/exec, and imports no
// vanban package, so the signer and the verifier can both use it without an import cycle and
// without checking themselves with their own code.
package signtest
