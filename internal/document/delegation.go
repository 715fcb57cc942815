package document

import (
	"strings"
	"time"
)

// Capacity is how a leader signs (Decree 30/2020, Article 13): in person, or
// on behalf of a collective or of another person.
type Capacity string

const (
	CapacityInPerson Capacity = ""    // the head signs in their own name
	CapacityTM       Capacity = "TM"  // thay mặt: for a collective body
	CapacityKT       Capacity = "KT"  // ký thay: a deputy for the head
	CapacityTL       Capacity = "TL"  // thừa lệnh: by order of the head
	CapacityTUQ      Capacity = "TUQ" // thừa ủy quyền: by written, time-limited authorization
	CapacityQ        Capacity = "Q"   // quyền: acting head
)

// Valid reports whether c is a known capacity.
func (c Capacity) Valid() bool {
	switch c {
	case CapacityInPerson, CapacityTM, CapacityKT, CapacityTL, CapacityTUQ, CapacityQ:
		return true
	}
	return false
}

// OnBehalfOfPerson reports whether signing in capacity c needs a delegation
// from another person (the principal). TM. is on behalf of the collective,
// whose head holds the signer role, so it needs none.
func (c Capacity) OnBehalfOfPerson() bool {
	return c == CapacityKT || c == CapacityTL || c == CapacityTUQ || c == CapacityQ
}

// Delegation lets a delegate sign in a capacity on behalf of a principal
// between ValidFrom and ValidUntil (open-ended when zero, except TUQ).
// Delegations do not chain: a delegate cannot pass the authority on.
type Delegation struct {
	ID          string
	OrgID       string
	PrincipalID string
	DelegateID  string
	Capacity    Capacity
	ValidFrom   time.Time
	ValidUntil  time.Time // zero: until revoked
	Reference   string    // the written decision or authorization, e.g. "15/QĐ-UBND"
	CreatedBy   string
	CreatedAt   time.Time
	RevokedAt   time.Time
}

// Validate checks a new delegation.
func (d *Delegation) Validate() error {
	switch {
	case !d.Capacity.OnBehalfOfPerson():
		return Errorf(EINVALID, "capacity %q is not one that signs for another person (KT, TL, TUQ, Q)", d.Capacity)
	case d.PrincipalID == "" || d.DelegateID == "":
		return Errorf(EINVALID, "a delegation names a principal and a delegate")
	case d.PrincipalID == d.DelegateID:
		return Errorf(EINVALID, "a person cannot delegate to themselves")
	case d.ValidFrom.IsZero():
		return Errorf(EINVALID, "a delegation needs a start date")
	case !d.ValidUntil.IsZero() && !d.ValidUntil.After(d.ValidFrom):
		return Errorf(EINVALID, "a delegation must end after it starts")
	case d.Capacity == CapacityTUQ && d.ValidUntil.IsZero():
		return Errorf(EINVALID, "an authorization (TUQ.) must be time-limited (Article 13.3)")
	case d.Capacity == CapacityTUQ && strings.TrimSpace(d.Reference) == "":
		return Errorf(EINVALID, "an authorization (TUQ.) must be in writing: give the document's number")
	}
	return nil
}

// ActiveAt reports whether the delegation allows signing at t.
func (d *Delegation) ActiveAt(t time.Time) bool {
	if t.Before(d.ValidFrom) {
		return false
	}
	if !d.ValidUntil.IsZero() && !t.Before(d.ValidUntil) {
		return false
	}
	return d.RevokedAt.IsZero() || t.Before(d.RevokedAt)
}

// SignatureBlock is the text around a leader's signature (Appendix I):
// the capacity line, the signer's title line and the signer's name.
type SignatureBlock struct {
	CapacityLine string // e.g. "KT. CHỦ TỊCH", "TM. ỦY BAN NHÂN DÂN"; "" in person
	TitleLine    string // e.g. "PHÓ CHỦ TỊCH"; "" for Q.
	Name         string
}

// NewSignatureBlock builds the block. collective is the body's name (for
// TM.), principalTitle the title of the person signed for (KT., TL., TUQ.,
// Q.), signerTitle and signerName the signer's own.
func NewSignatureBlock(c Capacity, collective, principalTitle, signerTitle, signerName string) (SignatureBlock, error) {
	up := strings.ToUpper
	b := SignatureBlock{TitleLine: up(signerTitle), Name: signerName}
	switch c {
	case CapacityInPerson:
	case CapacityTM:
		if collective == "" {
			return SignatureBlock{}, Errorf(EINVALID, "TM. needs the collective's name")
		}
		b.CapacityLine = "TM. " + up(collective)
	case CapacityKT, CapacityTL, CapacityTUQ, CapacityQ:
		if principalTitle == "" {
			return SignatureBlock{}, Errorf(EINVALID, "%s. needs the title of the person signed for", c)
		}
		b.CapacityLine = string(c) + ". " + up(principalTitle)
		if c == CapacityQ {
			// An acting head signs as the post itself.
			b.TitleLine = ""
		}
	default:
		return SignatureBlock{}, Errorf(EINVALID, "signing capacity %q is unknown", c)
	}
	if strings.TrimSpace(signerName) == "" {
		return SignatureBlock{}, Errorf(EINVALID, "the signer's name is required")
	}
	return b, nil
}

// Lines returns the non-empty lines top to bottom; the signature image goes
// between the last title line and the name.
func (b SignatureBlock) Lines() []string {
	var out []string
	for _, l := range []string{b.CapacityLine, b.TitleLine, b.Name} {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
