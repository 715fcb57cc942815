package verify

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"vanban/signing/revocation"
)

// second judges the chain, revocation, modifications and level of a
// signature whose format and integrity passed, and sets the indication.
func (v *validator) second(ps *parsed, docMDP int) {
	rep := ps.rep
	modsOK := true
	if ps.revIndex >= 0 {
		modsOK = v.modifications(ps, docMDP)
	}
	if ps.failed {
		rep.BestSignatureTime = v.now
		return
	}

	// The TSA of the signature time-stamp must not be revoked at the time
	// it is judged (a later archive time-stamp, or now).
	tsaStatusKnown := true
	if !ps.tsTime.IsZero() && rep.Type == "signature" {
		at := v.laterPOE(ps)
		if at.IsZero() {
			at = v.now
		}
		tr := v.pathRevocation(ps.tsaPath, at, nil)
		switch {
		case tr.revoked:
			ps.tsTime = time.Time{}
			rep.Timestamp.Valid = false
			rep.Timestamp.Detail = "the TSA certificate is revoked"
			rep.Warnings = append(rep.Warnings, "signature time-stamp not valid: the TSA certificate is revoked")
		case tr.unknown:
			tsaStatusKnown = false
			rep.Warnings = append(rep.Warnings, "revocation status of the time-stamping authority is unknown")
		}
		tsaStatusKnown = tsaStatusKnown && !tr.online
	}

	// Best signature time: the signature's own time-stamp, else the first
	// valid document time-stamp over a later revision.
	poe := ps.tsTime
	if poe.IsZero() || rep.Type == "document-timestamp" {
		poe = v.laterPOE(ps)
	}
	valTime := v.now
	if !poe.IsZero() {
		valTime = poe
	}
	rep.BestSignatureTime = valTime
	rep.Chain.ValidationTime = valTime

	signer := ps.sd.Signer
	usage := x509.ExtKeyUsageAny
	if rep.Type == "document-timestamp" {
		usage = x509.ExtKeyUsageTimeStamping
	}
	inter := x509.NewCertPool()
	for _, c := range v.extraCerts(ps.sd) {
		inter.AddCert(c)
	}
	var sub SubIndication
	var path []*x509.Certificate
	chains, err := signer.Verify(x509.VerifyOptions{Roots: v.roots(), Intermediates: inter, CurrentTime: valTime, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		rep.Chain.Detail = err.Error()
		var ua x509.UnknownAuthorityError
		var ci x509.CertificateInvalidError
		switch {
		case errors.As(err, &ua):
			sub = NoCertificateChainFound
		case errors.As(err, &ci) && ci.Reason == x509.Expired && ci.Cert != nil && valTime.Before(ci.Cert.NotBefore):
			sub = NotYetValid
		case errors.As(err, &ci) && ci.Reason == x509.Expired:
			sub = OutOfBoundsNoPOE
		default:
			sub = ChainConstraintsFailure
		}
	} else {
		path = chains[0]
		rep.Chain.Trusted = true
		for _, c := range path {
			rep.Chain.Certificates = append(rep.Chain.Certificates, certInfo(c))
		}
	}
	rep.Chain.KeyUsageOK = rep.Type == "document-timestamp" || signer.KeyUsage == 0 ||
		signer.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) != 0
	if !rep.Chain.KeyUsageOK && sub == "" {
		sub = ChainConstraintsFailure
		rep.Chain.Detail = "the signer's key usage allows neither digitalSignature nor nonRepudiation"
	}

	// Revocation of every certificate of the path but the anchor.
	var crls [][]byte
	if len(ps.sd.CRLs) > 0 {
		crls = ps.sd.CRLs
	}
	pr := v.pathRevocation(path, valTime, crls)
	rep.Revocation = pr.reports
	rep.Warnings = append(rep.Warnings, pr.warnings...)
	revokedAt, unknown, onlineUsed := pr.revoked, pr.unknown, pr.online

	// PAdES level.
	if rep.Type == "signature" && rep.SubFilter == "ETSI.CAdES.detached" && ps.sd.SigningCertificateV2 {
		rep.Level = "B-B"
		if !poe.IsZero() {
			rep.Level = "B-T"
			if v.hasDSS && len(path) > 0 && !revokedAt && !unknown && !onlineUsed && tsaStatusKnown {
				rep.Level = "B-LT"
				if v.archiveTimestamped(ps) {
					rep.Level = "B-LTA"
				}
			}
		}
	}

	switch {
	case !modsOK:
		rep.Indication, rep.SubIndication = TotalFailed, SigConstraintsFailure
	case revokedAt && !poe.IsZero():
		rep.Indication, rep.SubIndication = TotalFailed, Revoked
		rep.Errors = append(rep.Errors, "a certificate was revoked before the signature was proven to exist")
	case sub != "":
		rep.Indication, rep.SubIndication = Indeterminate, sub
		rep.Errors = append(rep.Errors, "certificate chain: "+rep.Chain.Detail)
	case revokedAt:
		rep.Indication, rep.SubIndication = Indeterminate, RevokedNoPOE
		rep.Errors = append(rep.Errors, "a certificate is revoked and no time-stamp proves the signature existed before")
	case unknown:
		rep.Indication, rep.SubIndication = Indeterminate, TryLater
		rep.Errors = append(rep.Errors, "revocation status unknown (no usable OCSP response or CRL)")
	case ps.sd.DigestAlgorithm == crypto.SHA1:
		rep.Indication, rep.SubIndication = Indeterminate, CryptoConstraintsFailureNP
		rep.Errors = append(rep.Errors, "SHA-1 is no longer acceptable for signatures")
	default:
		rep.Indication = TotalPassed
	}
}

// archiveTimestamped tells whether a valid document time-stamp covers a
// revision that already holds the DSS (B-LTA).
func (v *validator) archiveTimestamped(ps *parsed) bool {
	for _, o := range v.all {
		if o.rep.Type != "document-timestamp" || o.tsTime.IsZero() || o.failed || o.revIndex <= ps.revIndex {
			continue
		}
		r, err := v.revisionReader(o.revIndex)
		if err != nil {
			continue
		}
		if cat, err := r.Catalog(); err == nil && cat.Has("DSS") {
			return true
		}
	}
	return false
}

// modifications analyses the changes after the signature's revision and
// judges them; it returns false when they are not permitted.
func (v *validator) modifications(ps *parsed, docMDP int) bool {
	rep := ps.rep
	rep.Modifications.Permitted = true
	if ps.revIndex == len(v.revs)-1 {
		return true
	}
	j := v.judge(ps, docMDP)
	m := &rep.Modifications
	m.Categories, m.Permitted = j.categories, j.permitted
	m.Objects = j.changes
	if len(m.Objects) > maxListedChanges {
		m.Omitted = len(m.Objects) - maxListedChanges
		m.Objects = m.Objects[:maxListedChanges]
	}
	m.Details = summarize(j)
	if j.err != nil {
		rep.Errors = append(rep.Errors, j.why)
		return false
	}
	if !j.permitted {
		rep.Errors = append(rep.Errors, "changes after signing not permitted: "+j.why)
		return false
	}
	if slices.Contains(m.Categories, ModFormFill) || slices.Contains(m.Categories, ModAnnotations) {
		rep.Warnings = append(rep.Warnings, "form fields or annotations changed after signing")
	}
	v.visualCheck(ps)
	return true
}

// summarize turns the analysis into readable lines: every not permitted
// change, then the number of changes per rule.
func summarize(j judged) []string {
	var out []string
	counts := map[string]int{}
	for _, ch := range j.changes {
		if !ch.Permitted {
			if len(out) < 20 {
				out = append(out, fmt.Sprintf("NOT PERMITTED: revision %d, %s (%s) %s: %s: %s", ch.Revision, ch.Object, ch.Type, ch.Change, ch.Rule, ch.Reason))
			}
			continue
		}
		counts[ch.Rule]++
	}
	var rules []string
	for r := range counts {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		out = append(out, fmt.Sprintf("%s: %d object(s)", r, counts[r]))
	}
	return out
}

// laterPOE is the time of the earliest valid document time-stamp over a
// revision after ps, zero if none.
func (v *validator) laterPOE(ps *parsed) time.Time {
	var poe time.Time
	for _, o := range v.all {
		if o != ps && o.rep.Type == "document-timestamp" && !o.tsTime.IsZero() && o.revIndex > ps.revIndex && !o.failed {
			if poe.IsZero() || o.tsTime.Before(poe) {
				poe = o.tsTime
			}
		}
	}
	return poe
}

// pathStatus is the revocation outcome for a certification path.
type pathStatus struct {
	reports  []RevocationReport
	warnings []string
	revoked  bool // some certificate revoked at or before the time
	unknown  bool // some certificate's status could not be determined
	online   bool // some status had to be fetched online
}

// pathRevocation checks every certificate of path but the anchor at time
// at, from the DSS, extra CRLs, and online sources when allowed.
func (v *validator) pathRevocation(path []*x509.Certificate, at time.Time, crls [][]byte) pathStatus {
	var out pathStatus
	ev := v.dss
	if len(crls) > 0 {
		ev.Merge(revocation.Evidence{CRLs: crls})
	}
	for i := 0; i+1 < len(path); i++ {
		cert, issuer := path[i], path[i+1]
		rr := RevocationReport{Subject: cert.Subject.String()}
		if len(cert.OCSPServer) == 0 && len(cert.CRLDistributionPoints) == 0 {
			rr.NotApplicable = true
			out.reports = append(out.reports, rr)
			continue
		}
		st, _ := revocation.Check(cert, issuer, ev, at)
		if st.Source == "ocsp-nocheck" {
			rr.NotApplicable = true
		}
		if st.State == revocation.Unknown && v.opts.Online {
			fetched, _ := revocation.Fetch(v.ctx, cert, issuer, v.opts.HTTPClient)
			merged := ev
			merged.Merge(fetched)
			if st2, _ := revocation.Check(cert, issuer, merged, at); st2.State != revocation.Unknown {
				st, rr.Online, out.online = st2, true, true
			}
		}
		rr.Status = st
		switch st.State {
		case revocation.Revoked:
			out.revoked = true
		case revocation.Unknown:
			out.unknown = true
		case revocation.Good:
			if !st.RevokedAt.IsZero() {
				out.warnings = append(out.warnings, cert.Subject.CommonName+" was revoked after the time the signature was proven to exist")
			}
		}
		out.reports = append(out.reports, rr)
	}
	return out
}
