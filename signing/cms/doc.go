// Package cms encodes, parses and verifies the CMS SignedData (RFC 5652)
// structures that PAdES signatures and RFC 3161 time-stamp tokens carry.
//
// Signing is split in two because the key may sit on a leader's SIM that
// answers minutes later, in another process:
//
//  1. SignedAttributes builds the DER signed attributes of a CAdES baseline
//     signature (content-type, message-digest, signing-certificate-v2). The
//     caller hashes these bytes and sends the digest to a signing.Provider.
//  2. Build wraps the returned signature value, the same signed attributes
//     and the certificate chain into a detached ContentInfo. Build verifies
//     the signature against the signer certificate first and fails closed.
//
// AddSignatureTimestamp turns a B-B signature into B-T afterwards. Parse
// reads signatures produced by other software (including BER with
// indefinite lengths and the zero padding of a PDF /Contents string), and
// SignedData.Verify checks message digest, signature and signer binding.
//
// The encoder is our own (golang.org/x/crypto/cryptobyte): no third-party
// CMS library can pause between computing the digest and embedding the
// signature, and we want DER we control byte by byte.
package cms
