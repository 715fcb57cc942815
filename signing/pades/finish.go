package pades

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"io"

	"vanban/signing"
	"vanban/signing/cms"
	"vanban/signing/pdf"
)

// Finish completes a prepared signature: it verifies signature against the
// pinned certificate and the state's digest (failing closed with
// ErrBadSignature), builds the CMS (with a signature time-stamp from st.TSA
// at B-T and above), checks that it fits the placeholder
// (ErrContentsTooSmall: prepare again with a larger Options.ContentsSize),
// and writes the prepared file with /Contents filled to out. At B-LT it
// appends a /DSS (evidence from st.Revocation) and at B-LTA a document
// time-stamp.
//
// prepared must be byte for byte the file Prepare wrote (checked against
// the state's SHA-256 before anything is written: ErrState otherwise).
// Finish can run in another process: load the State from JSON and set
// st.TSA and st.Revocation again when the level needs them.
func Finish(ctx context.Context, st *State, prepared io.ReaderAt, signature []byte, out io.Writer) error {
	if err := st.validate(); err != nil {
		return err
	}
	if err := st.checkPrepared(prepared); err != nil {
		return err
	}
	return st.finish(ctx, prepared, signature, out)
}

// checkPrepared re-reads the prepared file and compares its size, its
// SHA-256 and the digest of its byte ranges with the state.
func (st *State) checkPrepared(prepared io.ReaderAt) error {
	var one [1]byte
	if n, _ := prepared.ReadAt(one[:], st.PreparedSize); n != 0 {
		return errorf(ErrState, "prepared file is longer than %d bytes", st.PreparedSize)
	}
	h, _ := st.HashFunc()
	content := h.New()
	file := sha256.New()
	var v vfile
	v.appendRange(prepared, 0, st.PreparedSize)
	br := st.ByteRange
	if err := v.copyRange(0, br[1], content, file); err != nil {
		return wrapErr(ErrState, err, "reading the prepared file")
	}
	if err := v.writeRange(file, br[1], br[2]); err != nil {
		return wrapErr(ErrState, err, "reading the prepared file")
	}
	if err := v.copyRange(br[2], br[2]+br[3], content, file); err != nil {
		return wrapErr(ErrState, err, "reading the prepared file")
	}
	if !bytes.Equal(file.Sum(nil), st.PreparedSHA256) {
		return errorf(ErrState, "prepared file differs from the one the state was made for")
	}
	if !bytes.Equal(content.Sum(nil), st.ContentDigest) {
		return errorf(ErrState, "byte range digest differs from the state")
	}
	return nil
}

// finish does the work of Finish on a prepared file already known to match.
func (st *State) finish(ctx context.Context, prepared io.ReaderAt, signature []byte, out io.Writer) error {
	if err := st.VerifySignature(signature); err != nil {
		return wrapErr(ErrBadSignature, err, "")
	}
	h, err := st.HashFunc()
	if err != nil {
		return err
	}
	alg, err := st.SignatureAlgorithm()
	if err != nil {
		return err
	}
	certs, err := st.Certificates()
	if err != nil {
		return err
	}
	if pub, ok := certs[0].PublicKey.(*ecdsa.PublicKey); ok {
		// CMS carries DER; a SIM or HSM may have returned raw r||s.
		if signature, err = signing.ECDSAToDER(signature, pub); err != nil {
			return wrapErr(ErrBadSignature, err, "")
		}
	}
	params := cms.Params{
		SignedAttributes: st.SignedAttributes,
		Hash:             h,
		Algorithm:        alg,
		Signature:        signature,
		Certificates:     certs,
	}
	var token []byte
	if st.Level >= LevelBT {
		if st.TSA == nil {
			return errorf(ErrTimestamp, "level %s needs a time-stamp authority (set State.TSA)", st.Level)
		}
		d := h.New()
		d.Write(signature)
		token, err = st.TSA.Timestamp(ctx, d.Sum(nil), h)
		if err != nil {
			return wrapErr(ErrTimestamp, err, "signature time-stamp")
		}
		params.SignatureTimestamp = token
	}
	der, err := cms.Build(params)
	if err != nil {
		if cms.KindOf(err) == cms.KindBadSignature || cms.KindOf(err) == cms.KindCertificateMismatch {
			return wrapErr(ErrBadSignature, err, "")
		}
		if cms.KindOf(err) == cms.KindTimestampMismatch {
			return wrapErr(ErrTimestamp, err, "")
		}
		return wrapErr(ErrState, err, "building the CMS")
	}
	if len(der) > st.ContentsSize {
		return &Error{Kind: ErrContentsTooSmall, Detail: "the CMS needs " + itoa(len(der)) + " bytes, " + itoa(st.ContentsSize) + " were reserved; prepare again with Options.ContentsSize >= " + itoa(len(der)+len(der)/8)}
	}
	patch, err := pdf.FormatHexString(der, 2*st.ContentsSize+2)
	if err != nil {
		return wrapErr(ErrContentsTooSmall, err, "")
	}
	var v vfile
	v.appendRange(prepared, 0, st.ByteRange[1])
	v.appendBytes(patch)
	v.appendRange(prepared, st.ByteRange[2], st.ByteRange[3])

	if st.Level >= LevelBLT {
		if st.Revocation == nil {
			return errorf(ErrRevocation, "level %s needs revocation data (set State.Revocation)", st.Level)
		}
		ev, err := collectEvidence(ctx, st.Revocation, certs, token)
		if err != nil {
			return err
		}
		// The earlier signatures' chains and time-stamps too (the
		// leader's, when the seal is made at B-LT): a recipient then
		// validates every signature of the issued file offline.
		if err := earlierEvidence(ctx, &v, st.Revocation, der, ev); err != nil {
			return err
		}
		inc, err := dssIncrement(&v, ev, [][]byte{der})
		if err != nil {
			return err
		}
		v.appendBytes(inc)
		if st.Level >= LevelBLTA {
			inc, err := docTimestampIncrement(ctx, &v, st.TSA, h)
			if err != nil {
				return err
			}
			v.appendBytes(inc)
		}
	}
	return v.writeRange(out, 0, v.Size())
}

// collectEvidence gathers DSS material for the signer's chain and, when a
// time-stamp token is given, for the TSA's chain.
func collectEvidence(ctx context.Context, collect RevocationCollector, chain []*x509.Certificate, token []byte) (*Evidence, error) {
	ev, err := collect(ctx, chain)
	if err != nil {
		return nil, wrapErr(ErrRevocation, err, "signer chain")
	}
	all := &Evidence{}
	all.merge(ev)
	for _, c := range chain {
		all.Certs = append(all.Certs, c.Raw)
	}
	if token != nil {
		tsaChain, err := tokenChain(token)
		if err != nil {
			return nil, err
		}
		ev, err := collect(ctx, tsaChain)
		if err != nil {
			return nil, wrapErr(ErrRevocation, err, "time-stamp authority chain")
		}
		all.merge(ev)
		for _, c := range tsaChain {
			all.Certs = append(all.Certs, c.Raw)
		}
	}
	return all, nil
}

// tokenChain returns the TSA certificate chain carried in a time-stamp
// token, signer first.
func tokenChain(token []byte) ([]*x509.Certificate, error) {
	sd, err := cms.Parse(token)
	if err != nil {
		return nil, wrapErr(ErrTimestamp, err, "parsing the time-stamp token")
	}
	if sd.Signer == nil {
		return nil, errorf(ErrTimestamp, "time-stamp token does not carry its signer certificate")
	}
	chain := []*x509.Certificate{sd.Signer}
	for _, c := range sd.Certificates {
		if !c.Equal(sd.Signer) {
			chain = append(chain, c)
		}
	}
	return chain, nil
}

func (e *Evidence) merge(o *Evidence) {
	if o == nil {
		return
	}
	e.Certs = append(e.Certs, o.Certs...)
	e.OCSPs = append(e.OCSPs, o.OCSPs...)
	e.CRLs = append(e.CRLs, o.CRLs...)
}

var errNoTSA = errors.New("no time-stamp authority configured")

// chainsOf returns the certificate chains a signature's validation needs:
// the signer's, and the TSA's for each signature time-stamp. For a
// document time-stamp (a bare token) it is the TSA's chain.
func chainsOf(contents []byte) ([][]*x509.Certificate, error) {
	sd, err := cms.Parse(contents)
	if err != nil {
		return nil, wrapErr(ErrNotPDF, err, "parsing a signature")
	}
	if sd.Signer == nil {
		return nil, errorf(ErrUnsupported, "a signature does not carry its signer certificate")
	}
	chain := []*x509.Certificate{sd.Signer}
	for _, c := range sd.Certificates {
		if !c.Equal(sd.Signer) {
			chain = append(chain, c)
		}
	}
	out := [][]*x509.Certificate{chain}
	for _, tok := range sd.SignatureTimestamps {
		tc, err := tokenChain(tok)
		if err != nil {
			return nil, err
		}
		out = append(out, tc)
	}
	return out, nil
}

// earlierEvidence adds to ev the validation data of every signature and
// time-stamp in v other than the one just made (own): their signers'
// chains and their time-stamp authorities' chains.
func earlierEvidence(ctx context.Context, v *vfile, collect RevocationCollector, own []byte, ev *Evidence) error {
	sigs, err := signatureContents(v)
	if err != nil {
		return err
	}
	for _, c := range sigs {
		if bytes.Equal(bytes.TrimRight(c, "\x00"), own) {
			continue
		}
		chains, err := chainsOf(c)
		if err != nil {
			continue // a signature we cannot parse gets no evidence; it does not stop ours
		}
		for _, chain := range chains {
			e, err := collect(ctx, chain)
			if err != nil {
				return wrapErr(ErrRevocation, err, "chain of %s", chain[0].Subject.CommonName)
			}
			ev.merge(e)
			for _, cert := range chain {
				ev.Certs = append(ev.Certs, cert.Raw)
			}
		}
	}
	return nil
}
