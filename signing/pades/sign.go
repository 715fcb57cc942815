package pades

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"io"

	"vanban/signing"
)

// Sign signs in one call with a key held in this process: Prepare, sign the
// digest, Finish. The prepared file is never materialized: Finish reads it
// as the original followed by the increment kept in memory.
//
// The original is read twice: once to hash the byte ranges (reading and
// hashing on two goroutines), and once to copy it to out after the
// signature exists, so nothing reaches out when signing fails. When src
// and out are both *os.File, that copy happens in the kernel
// (copy_file_range on Linux).
func Sign(ctx context.Context, src io.ReaderAt, size int64, out io.Writer, signer crypto.Signer, chain []*x509.Certificate, opts Options) error {
	return signWith(ctx, src, size, out, chain, opts, func(st *State) ([]byte, error) {
		h, err := st.HashFunc()
		if err != nil {
			return nil, err
		}
		var so crypto.SignerOpts = h
		if alg, _ := st.SignatureAlgorithm(); alg == signing.RSAPSS {
			so = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
		}
		sig, err := signer.Sign(rand.Reader, st.Digest(), so)
		if err != nil {
			return nil, wrapErr(ErrBadSignature, err, "signing the digest")
		}
		return sig, nil
	})
}

// SignWith signs in one call through a signing.Provider (SIM, HSM, cloud),
// waiting for the outcome with signing.SignAndWait. For signatures that
// take minutes, servers use Prepare and Finish with a durable session
// instead.
func SignWith(ctx context.Context, src io.ReaderAt, size int64, out io.Writer, provider signing.Provider, signerID string, opts Options, wait signing.WaitOptions) error {
	chain := opts.Chain
	if len(chain) == 0 {
		var err error
		chain, err = provider.Certificates(ctx, signerID)
		if err != nil {
			return err
		}
	}
	return signWith(ctx, src, size, out, chain, opts, func(st *State) ([]byte, error) {
		req, err := st.Request("", signerID, "Ký văn bản")
		if err != nil {
			return nil, err
		}
		return signing.SignAndWait(ctx, provider, chain[0], req, wait)
	})
}

func signWith(ctx context.Context, src io.ReaderAt, size int64, out io.Writer, chain []*x509.Certificate, opts Options, sign func(*State) ([]byte, error)) error {
	opts.Chain = chain
	st, inc, err := prepareIncrement(ctx, src, size, chain, opts)
	if err != nil {
		return err
	}
	if err := st.stream(src, size, inc, nil); err != nil {
		return err
	}
	sig, err := sign(st)
	if err != nil {
		return err
	}
	var prepared vfile
	prepared.appendRange(src, 0, size)
	prepared.appendBytes(inc)
	return st.finish(ctx, &prepared, sig, out)
}
