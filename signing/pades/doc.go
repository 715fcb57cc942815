// Package pades signs PDF documents with PAdES baseline signatures
// (ETSI EN 319 142-1: B-B, B-T, B-LT, B-LTA) as incremental updates: the
// original bytes always stay an exact prefix, so earlier signatures remain
// valid.
//
// Signing is two-phase because the key may be on a leader's SIM that
// answers minutes later, in another process:
//
//	st, err := pades.Prepare(ctx, src, size, preparedFile, pades.Options{Chain: chain, ...})
//	// store preparedFile and json.Marshal(st); send st.Digest() (or
//	// st.Request(...)) to the signing.Provider; later, maybe elsewhere:
//	err = pades.Finish(ctx, st, preparedFile, signatureValue, out)
//
// Prepare copies the original once, hashing it on the way, and appends an
// update laid out in memory: the signature field and widget (new, or an
// existing empty one such as the office seal field), the signature
// dictionary with its /ByteRange and a zeroed /Contents placeholder, and
// optionally a certification (DocMDP), extra form fields, and a visible
// appearance with Vietnamese text in an embedded Liberation Serif subset.
// Finish verifies the signature value against the pinned certificate,
// builds the CMS (signing/cms), adds the signature time-stamp, and patches
// /Contents; at B-LT and B-LTA it appends a /DSS and a document time-stamp.
//
// Sign and SignWith do both phases for keys at hand. FillFields fills the
// number and date fields a certification prepared, as a permitted form
// fill. AddDSS, AddDocumentTimestamp and Extend add long-term validation
// material to signed files, for archival renewal.
//
// All functions work on io.ReaderAt and io.Writer, parse only the objects
// they need (trailer, catalog, one page, the form) and never hold the
// document in memory. Errors wrap the sentinels in errors.go.
package pades
