// Package pdf is the low-level PDF layer of the vanban PAdES engine: an
// object model, a lazy reader that never loads the document in memory, the
// standard security handler, and an incremental-update writer with
// patchable placeholders for two-phase signing.
//
// # Object model
//
// Object is implemented by Null, Bool, Integer, Real, String (raw bytes,
// literal or hex syntax), Name (without slash, escapes decoded), Array,
// *Dict (ordered keys: output is stable), Ref{Num, Gen} and *Stream (a
// dictionary plus data that, for parsed streams, stays in the file until
// read). *Placeholder is a writer-only object. WriteObject serializes any of
// them.
//
// # Reading
//
//	r, err := pdf.Open(readerAt, size, nil)       // xref chain only
//	cat, err := r.Catalog()
//	page, err := r.Page(1)                        // inherited MediaBox, CropBox, Rotate, Resources
//	form, err := r.AcroForm()                     // ErrNotFound when absent
//	obj, err := r.Resolve(pdf.Ref{Num: 12})       // parsed on demand
//	d, err := r.ResolveDict(cat.Get("Names"))
//	ends, err := r.Revisions()                    // where each %%EOF revision ends
//
// Open finds startxref, reads xref tables, xref streams (with predictors)
// and hybrid sections along the /Prev chain, and keeps only an index of
// object locations. Objects are parsed on each call and returned as fresh
// values that the caller may modify (for instance to Replace them in an
// update). Object streams are decoded on demand with a small cache. Strings
// and streams of encrypted files (RC4 40-128, AES-128, AES-256; R2-R6) are
// decrypted when opened with the empty user password; otherwise Open
// returns ErrUserPasswordRequired.
//
// ReadOptions bounds what a hostile file may cost: decompressed stream
// size, nesting depth, objects per object stream, xref sections, reference
// chains, string and container sizes. Violations return ErrLimit; syntax
// errors return ErrMalformed; both are *Error values with an offset.
//
// # Incremental updates and placeholders
//
//	u := pdf.NewUpdate(r)
//	sig := pdf.NewDict()
//	sig.Set("Type", pdf.Name("Sig"))
//	sig.Set("ByteRange", pdf.ByteRangePlaceholder("br"))
//	sig.Set("Contents", pdf.ContentsPlaceholder("sig", 16384))
//	sigRef := u.Add(sig)
//	u.Replace(r.Root(), newCatalog)
//	res, err := u.Write(tempFile)                 // original bytes, objects, xref, %%EOF
//	br, _ := res.ByteRange("sig")                 // everything but <...> of /Contents
//	pdf.PatchByteRange(tempFile, res.Placeholders["br"], br)
//	// hash [br[0],br[0]+br[1]) and [br[2],br[2]+br[3]) of tempFile, sign, then:
//	pdf.PatchHexString(tempFile, res.Placeholders["sig"], cms)
//
// Write copies the original file unchanged (it stays an exact byte prefix),
// appends the objects and a cross-reference section of the same kind as the
// file's last one (a table for table and hybrid files, a stream that lists
// itself for xref-stream files), with /Size, /Prev, /Root, /Info, /ID and
// /Encrypt. In encrypted documents new strings and streams are encrypted
// with the document key; placeholders and signature /Contents are not.
package pdf
