package document

import "time"

// Verification is a signature validation report kept for a document
// version, as it was made: for a received document the report made at
// registration is evidence of what the clerk saw, whatever later revocation
// or expiry says. Re-running a validation adds a record, it never replaces
// one.
type Verification struct {
	ID         string
	DocumentID string
	VersionSeq int
	// Indication is the worst indication of the report's signatures
	// (TOTAL-PASSED, INDETERMINATE, TOTAL-FAILED) or NO-SIGNATURE.
	Indication string
	ReportJSON []byte
	CreatedBy  string // the user who registered, issued or re-ran it
	CreatedAt  time.Time
}
