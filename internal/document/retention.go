package document

import "time"

// ArchiveRecord is what the archive keeps about one archived document: the
// retention applied to its stored objects and what keeps the proof of its
// signatures alive (internal/archive).
type ArchiveRecord struct {
	DocumentID string
	OrgID      string
	ArchivedBy string
	ArchivedAt time.Time
	// Permanent (vĩnh viễn): RetainUntil is then the longest the store
	// allows, extended again before it comes.
	Permanent   bool
	RetainUntil time.Time
	// The newest document time-stamp of the archived PDF: the version that
	// carries it (0: none), until when it can be proven (its TSA chain's
	// expiry), and the strength of its hash (output bits) and of the TSA's
	// key (security bits: RSA-2048 is 112, P-256 128).
	ProofVersion  int
	ProofUntil    time.Time
	ProofHashBits int
	ProofKeyBits  int
	Renewals      int
	RenewedAt     time.Time
	// NextCheck is when the renewal job looks at the record again.
	NextCheck time.Time
	// LastError is the last failure of the renewal job, "" after success.
	LastError string
}
