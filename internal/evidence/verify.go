package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"vanban/internal/audit"
	"vanban/signing/cms"
	"vanban/signing/tsa"
	"vanban/signing/verify"
)

// Limits of what Verify reads, so a hostile file cannot exhaust memory.
const (
	maxMembers      = 32
	maxSmallMember  = 8 << 20   // manifest, seal, reports, timeline, exchange
	maxAuditMember  = 512 << 20 // links of a long chain
	maxPDFMember    = 1 << 30
	maxVerifyPDFMem = 256 << 20 // the PDF is validated in memory up to this size
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Roots are the trust anchors for the seal, the time-stamps and the
	// document's signatures; nil checks every signature and digest but
	// judges no certificate (reported as a note).
	Roots *x509.CertPool
	// Now is the validation time; zero means now.
	Now time.Time
}

// Problem is one thing that does not hold, naming the member concerned.
type Problem struct {
	Member  string `json:"member"`
	Message string `json:"message"`
}

// Result is what Verify found.
type Result struct {
	OK       bool
	Manifest *Manifest
	// Checked lists what was verified and held.
	Checked  []string
	Problems []Problem
	// Notes are limits of the check (no trust anchors given).
	Notes []string
}

func (r *Result) bad(member, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Member: member, Message: fmt.Sprintf(format, args...)})
}

func (r *Result) ok(format string, args ...any) {
	r.Checked = append(r.Checked, fmt.Sprintf(format, args...))
}

// Verify checks an evidence package offline: the seal over the manifest
// (signature, certificate chain, signature time-stamp), every member's
// size and SHA-256 against the manifest, no member missing or added, the
// document's signatures, and the audit entries against their chain links
// and the anchor's time-stamp. Everything that does not hold is in
// Result.Problems with the member it concerns; err is only for a file
// that cannot be read as a ZIP at all.
func Verify(ctx context.Context, r io.ReaderAt, size int64, opts VerifyOptions) (*Result, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("evidence: not a ZIP file: %w", err)
	}
	res := &Result{}
	if len(zr.File) > maxMembers {
		res.bad("", "the package has %d members; an evidence package has %d", len(zr.File), len(knownMembers))
		return res, nil
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := files[f.Name]; dup {
			res.bad(f.Name, "the member appears twice")
			continue
		}
		files[f.Name] = f
	}
	read := func(name string, limit int64) ([]byte, bool) {
		f := files[name]
		if f == nil {
			res.bad(name, "missing")
			return nil, false
		}
		b, err := readMember(f, limit)
		if err != nil {
			res.bad(name, "%v", err)
			return nil, false
		}
		return b, true
	}
	manifestRaw, okM := read(MemberManifest, maxSmallMember)
	sealRaw, okS := read(MemberSeal, maxSmallMember)
	if okM && okS {
		checkSeal(res, manifestRaw, sealRaw, opts.Roots, now)
	}
	var m Manifest
	if okM {
		if err := json.Unmarshal(manifestRaw, &m); err != nil {
			res.bad(MemberManifest, "not valid JSON: %v", err)
			okM = false
		} else if m.Format != Format {
			res.bad(MemberManifest, "format %q, want %q", m.Format, Format)
			okM = false
		} else {
			res.Manifest = &m
		}
	}
	if !okM {
		return finish(res, opts), nil
	}
	listed := map[string]bool{MemberManifest: true, MemberSeal: true}
	intact := map[string][]byte{} // small members whose digest matched, for the content checks
	for _, mm := range m.Members {
		if listed[mm.Name] {
			res.bad(mm.Name, "listed twice in the manifest")
			continue
		}
		listed[mm.Name] = true
		f := files[mm.Name]
		if f == nil {
			res.bad(mm.Name, "listed in the manifest but missing from the package")
			continue
		}
		limit := int64(maxSmallMember)
		switch mm.Name {
		case MemberPDF:
			limit = maxPDFMember
		case MemberAudit:
			limit = maxAuditMember
		}
		keep := mm.Name != MemberPDF || mm.Size <= maxVerifyPDFMem
		sum, n, content, err := hashMember(f, limit, keep)
		switch {
		case err != nil:
			res.bad(mm.Name, "%v", err)
		case hex.EncodeToString(sum) != mm.SHA256 || n != mm.Size:
			res.bad(mm.Name, "content does not match the manifest: SHA-256 %x (%d bytes), the manifest says %s (%d bytes)", sum, n, mm.SHA256, mm.Size)
		default:
			res.ok("%s: SHA-256 matches the sealed manifest", mm.Name)
			if keep {
				intact[mm.Name] = content
			}
		}
	}
	var extra []string
	for name := range files {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		res.bad(name, "in the package but not in the sealed manifest")
	}
	for _, name := range knownMembers {
		if !listed[name] {
			res.bad(name, "not listed in the manifest")
		}
	}
	if b, ok := intact[MemberPDF]; ok {
		checkPDF(ctx, res, b, opts.Roots, now)
	}
	var proven []AuditEntry // audit entries that hash and lie on the links
	auditOK := false
	if b, ok := intact[MemberAudit]; ok {
		proven, auditOK = checkAudit(res, b, m.DocumentID, opts.Roots)
	}
	if b, ok := intact[MemberExchange]; ok {
		checkExchange(res, b, proven, auditOK)
	}
	if b, ok := intact[MemberReportJSON]; ok {
		var rep verify.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			res.bad(MemberReportJSON, "not a validation report: %v", err)
		}
	}
	if b, ok := intact[MemberTimeline]; ok && !json.Valid(b) {
		res.bad(MemberTimeline, "not valid JSON")
	}
	return finish(res, opts), nil
}

var knownMembers = []string{MemberPDF, MemberReportJSON, MemberReportHTML, MemberTimeline, MemberExchange, MemberAudit}

func finish(res *Result, opts VerifyOptions) *Result {
	if opts.Roots == nil {
		res.Notes = append(res.Notes, "no trust anchors given (--trust): signatures and digests were checked, certificates were not judged")
	}
	res.OK = len(res.Problems) == 0
	return res
}

func readMember(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// hashMember streams a member through SHA-256, keeping the bytes when
// keep is set. A damaged deflate stream or CRC is an error.
func hashMember(f *zip.File, limit int64, keep bool) (sum []byte, n int64, content []byte, err error) {
	rc, err := f.Open()
	if err != nil {
		return nil, 0, nil, err
	}
	defer rc.Close()
	h := sha256.New()
	var buf bytes.Buffer
	w := io.Writer(h)
	if keep {
		w = io.MultiWriter(h, &buf)
	}
	n, err = io.Copy(w, io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, n, nil, fmt.Errorf("cannot be read: %w", err)
	}
	if n > limit {
		return nil, n, nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return h.Sum(nil), n, buf.Bytes(), nil
}

// checkSeal verifies the CMS over the manifest: signature, chain at the
// time of its signature time-stamp, and the time-stamp itself.
func checkSeal(res *Result, manifest, seal []byte, roots *x509.CertPool, now time.Time) {
	sd, err := cms.Parse(seal)
	if err != nil {
		res.bad(MemberSeal, "not a CMS SignedData: %v", err)
		return
	}
	h := sd.DigestAlgorithm
	if !h.Available() {
		res.bad(MemberSeal, "unsupported digest algorithm")
		return
	}
	d := h.New()
	d.Write(manifest)
	if err := sd.Verify(d.Sum(nil)); err != nil {
		res.bad(MemberManifest+" / "+MemberSeal, "the seal does not verify over the manifest (one of them was changed): %v", err)
		return
	}
	who := sd.Signer.Subject.CommonName
	if sd.SignatureTimestamp == nil {
		res.bad(MemberSeal, "the seal has no signature time-stamp")
		return
	}
	tok, err := tsa.Parse(sd.SignatureTimestamp)
	if err != nil {
		res.bad(MemberSeal, "signature time-stamp: %v", err)
		return
	}
	if err := tok.Covers(sd.SignatureDigest(tok.Hash), tok.Hash); err != nil {
		res.bad(MemberSeal, "the signature time-stamp does not cover the seal's signature")
		return
	}
	if roots != nil {
		_, err = tok.VerifyChain(roots)
	} else {
		err = tok.Verify()
	}
	if err != nil {
		res.bad(MemberSeal, "signature time-stamp: %v", err)
		return
	}
	if roots != nil {
		inter := x509.NewCertPool()
		for _, c := range sd.Certificates {
			inter.AddCert(c)
		}
		// At the time-stamp's time: the seal existed then, so a
		// certificate expired since does not undo it.
		if _, err := sd.Signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: tok.Time,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			res.bad(MemberSeal, "the seal's certificate (%s) does not chain to a trust anchor: %v", who, err)
			return
		}
	}
	res.ok("%s: sealed by %s, time-stamped %s", MemberManifest, who, tok.Time.UTC().Format(time.RFC3339))
}

// checkPDF validates the document's signatures offline: each must be
// TOTAL-PASSED from what the file carries.
func checkPDF(ctx context.Context, res *Result, pdf []byte, roots *x509.CertPool, now time.Time) {
	if roots == nil {
		return
	}
	rep, err := verify.Verify(ctx, bytes.NewReader(pdf), int64(len(pdf)), verify.Options{Roots: roots, Now: now})
	if err != nil {
		res.bad(MemberPDF, "cannot be validated: %v", err)
		return
	}
	if len(rep.Signatures) == 0 {
		res.bad(MemberPDF, "has no signature")
	}
	for _, s := range rep.Signatures {
		if s.Indication != verify.TotalPassed {
			res.bad(MemberPDF, "%s %s is %s %s offline %v", s.Type, s.Field, s.Indication, s.SubIndication, s.Errors)
			continue
		}
		res.ok("%s: %s %s TOTAL-PASSED offline", MemberPDF, s.Type, s.Field)
	}
}

// checkAudit recomputes every entry's hash, checks that the links run
// unbroken from the first entry to the anchor and carry each entry, and
// verifies the anchor's time-stamp over the last link. It returns the
// entries that hash correctly and lie on the links, and whether all of
// the file held (anchor included).
func checkAudit(res *Result, raw []byte, docID string, roots *x509.CertPool) (proven []AuditEntry, ok bool) {
	before := len(res.Problems)
	var af AuditFile
	if err := json.Unmarshal(raw, &af); err != nil {
		res.bad(MemberAudit, "not valid JSON: %v", err)
		return proven, false
	}
	if len(af.Entries) == 0 {
		res.bad(MemberAudit, "no audit entry for the document")
		return proven, false
	}
	links := map[int64]AuditLink{}
	for i, l := range af.Links {
		if i > 0 {
			prev := af.Links[i-1]
			if l.Seq != prev.Seq+1 {
				res.bad(MemberAudit, "the chain links jump from %d to %d", prev.Seq, l.Seq)
				return proven, false
			}
			if l.PrevHash != prev.Hash {
				res.bad(MemberAudit, "link %d does not follow link %d", l.Seq, prev.Seq)
				return proven, false
			}
		}
		links[l.Seq] = l
	}
	for _, ae := range af.Entries {
		e := ae.entry()
		if e.ObjectType != "document" || e.ObjectID != docID {
			res.bad(MemberAudit, "entry %d is about %s %s, not this document", e.Seq, e.ObjectType, e.ObjectID)
			continue
		}
		if err := e.Normalize(); err != nil {
			res.bad(MemberAudit, "entry %d: %v", e.Seq, err)
			continue
		}
		if e.ComputeHash() != e.Hash {
			res.bad(MemberAudit, "entry %d (%s) does not match its hash: edited", e.Seq, e.Action)
			continue
		}
		l, ok := links[e.Seq]
		if !ok || l.Hash != e.Hash || l.PrevHash != e.PrevHash {
			res.bad(MemberAudit, "entry %d is not on the chain links", e.Seq)
			continue
		}
		proven = append(proven, ae)
	}
	if af.Anchor == nil {
		res.bad(MemberAudit, "the chain links end at no time-stamped anchor")
		return proven, false
	}
	last := af.Links[len(af.Links)-1]
	if af.Anchor.Seq != last.Seq || af.Anchor.Hash != last.Hash {
		res.bad(MemberAudit, "the anchor (seq %d) is not the end of the links (seq %d)", af.Anchor.Seq, last.Seq)
		return proven, false
	}
	tok, err := tsa.Parse(af.Anchor.Token)
	if err != nil {
		res.bad(MemberAudit, "anchor time-stamp: %v", err)
		return proven, false
	}
	if err := tok.Covers(audit.AnchorImprint(af.Anchor.Seq, af.Anchor.Hash), crypto.SHA256); err != nil {
		res.bad(MemberAudit, "the anchor time-stamp does not cover the head (seq %d)", af.Anchor.Seq)
		return proven, false
	}
	if roots != nil {
		_, err = tok.VerifyChain(roots)
	} else {
		err = tok.Verify()
	}
	if err != nil {
		res.bad(MemberAudit, "anchor time-stamp: %v", err)
		return proven, false
	}
	res.ok("%s: %d entries of the document hash correctly and lie on %d chain links anchored at seq %d, time-stamped %s",
		MemberAudit, len(af.Entries), len(af.Links), af.Anchor.Seq, tok.Time.UTC().Format(time.RFC3339))
	return proven, len(res.Problems) == before
}
