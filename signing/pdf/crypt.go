package pdf

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

type cryptMethod uint8

const (
	cmNone cryptMethod = iota
	cmRC4
	cmAESV2
	cmAESV3
)

// securityHandler implements the standard security handler (ISO 32000-2
// 7.6.4) for reading and for encrypting new objects with the same key.
type securityHandler struct {
	v, rev          int
	key             []byte // file encryption key
	stm, str        cryptMethod
	encryptMetadata bool
	perms           uint32 // /P access permissions
}

// padding is the 32-byte password padding string of ISO 32000 7.6.4.3.
var padding = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

func (r *Reader) setupEncryption(enc Object) error {
	if ref, ok := enc.(Ref); ok {
		r.encryptRef = ref
	}
	obj, err := r.Resolve(enc)
	if err != nil {
		return err
	}
	d, ok := obj.(*Dict)
	if !ok {
		return malformed(-1, "/Encrypt is not a dictionary")
	}
	var id0 []byte
	if id, ok := r.ID(); ok {
		id0 = id[0]
	}
	passwords := [][]byte{nil}
	if len(r.opts.Password) > 0 {
		passwords = append(passwords, r.opts.Password)
	}
	h, err := newSecurityHandler(d, id0, passwords)
	if err != nil {
		return err
	}
	r.crypt = h
	return nil
}

func dictBytes(d *Dict, key Name) []byte {
	s, _ := d.Get(key).(String)
	return s.Value
}

func newSecurityHandler(d *Dict, id0 []byte, passwords [][]byte) (*securityHandler, error) {
	f, _ := d.Name("Filter")
	if sub, _ := d.Name("SubFilter"); f == "Adobe.PubSec" || strings.HasPrefix(string(sub), "adbe.pkcs7.s") {
		return nil, &Error{Kind: ErrUnsupported, Offset: -1, Err: ErrPublicKeySecurity,
			Reason: fmt.Sprintf("the document is encrypted for certificate recipients (security handler /%s): it opens only with a recipient's private key, which is not supported", f)}
	}
	if f != "Standard" {
		return nil, unsupported(-1, "security handler /%s", f)
	}
	v, _ := d.Int("V")
	rev, _ := d.Int("R")
	h := &securityHandler{v: int(v), rev: int(rev), encryptMetadata: true}
	if b, ok := d.Get("EncryptMetadata").(Bool); ok {
		h.encryptMetadata = bool(b)
	}
	keyLen := 5
	switch v {
	case 1:
		h.stm, h.str = cmRC4, cmRC4
	case 2:
		h.stm, h.str = cmRC4, cmRC4
		if bits, ok := d.Int("Length"); ok {
			if bits < 40 || bits > 128 || bits%8 != 0 {
				return nil, malformed(-1, "encryption /Length %d", bits)
			}
			keyLen = int(bits / 8)
		}
	case 4, 5:
		var err error
		if h.stm, err = cryptFilterMethod(d, "StmF"); err != nil {
			return nil, err
		}
		if h.str, err = cryptFilterMethod(d, "StrF"); err != nil {
			return nil, err
		}
		keyLen = 16
		if bits, ok := d.Int("Length"); ok && v == 4 && bits >= 40 && bits <= 128 && bits%8 == 0 {
			keyLen = int(bits / 8)
		}
		if v == 5 {
			keyLen = 32
		}
	default:
		return nil, unsupported(-1, "encryption algorithm /V %d", v)
	}
	if p, ok := d.Int("P"); ok {
		h.perms = uint32(p) // stored signed (e.g. -1044) or unsigned
	}
	o, u := dictBytes(d, "O"), dictBytes(d, "U")
	switch {
	case rev >= 2 && rev <= 4:
		if len(o) < 32 || len(u) < 32 {
			return nil, malformed(-1, "encryption /O or /U shorter than 32 bytes")
		}
		for _, pw := range passwords {
			key := keyR4(pw, o[:32], h.perms, id0, keyLen, h.rev, h.encryptMetadata)
			if checkUserR4(key, u, id0, h.rev) {
				h.key = key
				return h, nil
			}
		}
	case rev == 5 || rev == 6:
		ue := dictBytes(d, "UE")
		if len(u) < 48 || len(ue) < 32 {
			return nil, malformed(-1, "encryption /U or /UE too short for revision %d", rev)
		}
		for _, pw := range passwords {
			if len(pw) > 127 {
				pw = pw[:127]
			}
			if !bytes.Equal(hashR6(h.rev, pw, u[32:40], nil), u[:32]) {
				continue
			}
			ik := hashR6(h.rev, pw, u[40:48], nil)
			block, _ := aes.NewCipher(ik)
			key := make([]byte, 32)
			cipher.NewCBCDecrypter(block, make([]byte, 16)).CryptBlocks(key, ue[:32])
			h.key = key
			return h, nil
		}
	default:
		return nil, unsupported(-1, "standard security handler revision %d", rev)
	}
	return nil, &Error{Kind: ErrUserPasswordRequired, Offset: -1, Reason: "the empty user password does not open this document"}
}

func cryptFilterMethod(d *Dict, key Name) (cryptMethod, error) {
	name, ok := d.Name(key)
	if !ok || name == "Identity" {
		return cmNone, nil
	}
	cf, _ := d.Get("CF").(*Dict)
	f, _ := cf.Get(name).(*Dict)
	if f == nil {
		return 0, malformed(-1, "crypt filter /%s not defined in /CF", name)
	}
	cfm, _ := f.Name("CFM")
	switch cfm {
	case "None", "":
		return cmNone, nil
	case "V2":
		return cmRC4, nil
	case "AESV2":
		return cmAESV2, nil
	case "AESV3":
		return cmAESV3, nil
	}
	return 0, unsupported(-1, "crypt filter method /%s", cfm)
}

func padPassword(pw []byte) []byte {
	b := make([]byte, 32)
	n := copy(b, pw)
	copy(b[n:], padding)
	return b
}

// keyR4 is algorithm 2 (revisions 2-4).
func keyR4(pw, o []byte, p uint32, id0 []byte, n, rev int, encryptMetadata bool) []byte {
	h := md5.New()
	h.Write(padPassword(pw))
	h.Write(o)
	var pb [4]byte
	binary.LittleEndian.PutUint32(pb[:], p)
	h.Write(pb[:])
	h.Write(id0)
	if rev >= 4 && !encryptMetadata {
		h.Write([]byte{0xff, 0xff, 0xff, 0xff})
	}
	sum := h.Sum(nil)
	if rev >= 3 {
		for i := 0; i < 50; i++ {
			s := md5.Sum(sum[:n])
			sum = s[:]
		}
	}
	return sum[:n]
}

// checkUserR4 is algorithms 4 and 5: does key reproduce /U?
func checkUserR4(key, u, id0 []byte, rev int) bool {
	if rev == 2 {
		c, _ := rc4.NewCipher(key)
		out := make([]byte, 32)
		c.XORKeyStream(out, padding)
		return bytes.Equal(out, u[:32])
	}
	h := md5.New()
	h.Write(padding)
	h.Write(id0)
	x := h.Sum(nil)
	k := make([]byte, len(key))
	for i := 0; i < 20; i++ {
		for j := range key {
			k[j] = key[j] ^ byte(i)
		}
		c, _ := rc4.NewCipher(k)
		c.XORKeyStream(x, x)
	}
	return bytes.Equal(x[:16], u[:16])
}

// hashR6 is algorithm 2.A's hash: plain SHA-256 for revision 5, algorithm
// 2.B for revision 6.
func hashR6(rev int, pw, salt, udata []byte) []byte {
	h := sha256.New()
	h.Write(pw)
	h.Write(salt)
	h.Write(udata)
	k := h.Sum(nil)
	if rev == 5 {
		return k
	}
	for round := 0; ; round++ {
		unit := make([]byte, 0, len(pw)+len(k)+len(udata))
		unit = append(append(append(unit, pw...), k...), udata...)
		k1 := bytes.Repeat(unit, 64)
		block, _ := aes.NewCipher(k[:16])
		e := make([]byte, len(k1))
		cipher.NewCBCEncrypter(block, k[16:32]).CryptBlocks(e, k1)
		sum := 0
		for _, b := range e[:16] {
			sum += int(b)
		}
		switch sum % 3 {
		case 0:
			s := sha256.Sum256(e)
			k = s[:]
		case 1:
			s := sha512.Sum384(e)
			k = s[:]
		case 2:
			s := sha512.Sum512(e)
			k = s[:]
		}
		if round >= 63 && int(e[len(e)-1]) <= round-31 {
			break
		}
	}
	return k[:32]
}

// objectKey is algorithm 1: the per-object key (the file key for AES-256).
func (h *securityHandler) objectKey(ref Ref, m cryptMethod) []byte {
	if m == cmAESV3 {
		return h.key
	}
	b := make([]byte, 0, len(h.key)+9)
	b = append(b, h.key...)
	b = append(b, byte(ref.Num), byte(ref.Num>>8), byte(ref.Num>>16), byte(ref.Gen), byte(ref.Gen>>8))
	if m == cmAESV2 {
		b = append(b, "sAlT"...)
	}
	sum := md5.Sum(b)
	return sum[:min(len(h.key)+5, 16)]
}

func (h *securityHandler) decryptString(ref Ref, b []byte) ([]byte, error) {
	return h.decryptBytes(ref, h.str, b)
}

func (h *securityHandler) decryptBytes(ref Ref, m cryptMethod, b []byte) ([]byte, error) {
	switch m {
	case cmRC4:
		c, _ := rc4.NewCipher(h.objectKey(ref, m))
		out := make([]byte, len(b))
		c.XORKeyStream(out, b)
		return out, nil
	case cmAESV2, cmAESV3:
		if len(b) == 0 {
			return b, nil
		}
		if len(b) < 16 || len(b)%16 != 0 {
			return nil, malformed(-1, "AES data of object %v has length %d", ref, len(b))
		}
		if len(b) == 16 {
			return []byte{}, nil // only an IV
		}
		block, _ := aes.NewCipher(h.objectKey(ref, m))
		out := make([]byte, len(b)-16)
		cipher.NewCBCDecrypter(block, b[:16]).CryptBlocks(out, b[16:])
		pad := int(out[len(out)-1])
		if pad < 1 || pad > 16 || pad > len(out) {
			return nil, malformed(-1, "bad AES padding in object %v", ref)
		}
		return out[:len(out)-pad], nil
	}
	return b, nil
}

func (h *securityHandler) encryptString(ref Ref, b []byte) ([]byte, error) {
	return h.encryptBytes(ref, h.str, b)
}

func (h *securityHandler) encryptBytes(ref Ref, m cryptMethod, b []byte) ([]byte, error) {
	switch m {
	case cmRC4:
		c, _ := rc4.NewCipher(h.objectKey(ref, m))
		out := make([]byte, len(b))
		c.XORKeyStream(out, b)
		return out, nil
	case cmAESV2, cmAESV3:
		var buf bytes.Buffer
		w, err := h.aesWriter(ref, m, &buf)
		if err != nil {
			return nil, err
		}
		w.Write(b)
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return b, nil
}

// decryptObject decrypts, in place, every string of an object read directly
// from the file. Signature /Contents stays as is (ISO 32000-2 7.6.2).
func (h *securityHandler) decryptObject(ref Ref, obj Object) error {
	_, err := h.decryptValue(ref, obj, 0)
	return err
}

func (h *securityHandler) decryptValue(ref Ref, obj Object, depth int) (Object, error) {
	if depth > 1000 {
		return nil, limitErr(-1, "nesting too deep")
	}
	switch o := obj.(type) {
	case String:
		v, err := h.decryptString(ref, o.Value)
		if err != nil {
			return nil, err
		}
		return String{Value: v, Hex: o.Hex}, nil
	case Array:
		for i, e := range o {
			v, err := h.decryptValue(ref, e, depth+1)
			if err != nil {
				return nil, err
			}
			o[i] = v
		}
	case *Dict:
		sig := isSignatureDict(o)
		for i := range o.entries {
			if sig && o.entries[i].Key == "Contents" {
				continue
			}
			v, err := h.decryptValue(ref, o.entries[i].Value, depth+1)
			if err != nil {
				return nil, err
			}
			o.entries[i].Value = v
		}
	case *Stream:
		if _, err := h.decryptValue(ref, o.Dict, depth+1); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// encryptsStream reports whether a stream with this dictionary is encrypted:
// not xref streams, not metadata when /EncryptMetadata is false, not streams
// with an /Identity crypt filter.
func (h *securityHandler) encryptsStream(d *Dict) bool {
	if h.stm == cmNone {
		return false
	}
	t, _ := d.Name("Type")
	if t == "XRef" || (t == "Metadata" && !h.encryptMetadata) {
		return false
	}
	if hasIdentityCryptFilter(d) {
		return false
	}
	return true
}

func hasIdentityCryptFilter(d *Dict) bool {
	filters := d.Get("Filter")
	params := d.Get("DecodeParms")
	check := func(i int, f Object) bool {
		if n, _ := f.(Name); n != "Crypt" {
			return false
		}
		var p *Dict
		switch pv := params.(type) {
		case *Dict:
			p = pv
		case Array:
			if i < len(pv) {
				p, _ = pv[i].(*Dict)
			}
		}
		name, ok := p.Name("Name")
		return !ok || name == "Identity"
	}
	switch f := filters.(type) {
	case Name:
		return check(0, f)
	case Array:
		for i, e := range f {
			if check(i, e) {
				return true
			}
		}
	}
	return false
}

// streamCipherLen is the length of n plaintext bytes once encrypted.
func (h *securityHandler) streamCipherLen(n int64) int64 {
	if h.stm == cmAESV2 || h.stm == cmAESV3 {
		return 16 + (n/16+1)*16
	}
	return n
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// streamEncrypter returns a writer that encrypts stream data for ref into w;
// Close writes the final AES block.
func (h *securityHandler) streamEncrypter(ref Ref, w io.Writer) (io.WriteCloser, error) {
	switch h.stm {
	case cmRC4:
		c, _ := rc4.NewCipher(h.objectKey(ref, cmRC4))
		return nopCloser{cipher.StreamWriter{S: c, W: w}}, nil
	case cmAESV2, cmAESV3:
		return h.aesWriter(ref, h.stm, w)
	}
	return nopCloser{w}, nil
}

func (h *securityHandler) aesWriter(ref Ref, m cryptMethod, w io.Writer) (io.WriteCloser, error) {
	block, _ := aes.NewCipher(h.objectKey(ref, m))
	iv := make([]byte, 16)
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	if _, err := w.Write(iv); err != nil {
		return nil, err
	}
	return &cbcWriter{w: w, mode: cipher.NewCBCEncrypter(block, iv)}, nil
}

// cbcWriter encrypts whole blocks as they fill and pads (PKCS#7) on Close.
type cbcWriter struct {
	w    io.Writer
	mode cipher.BlockMode
	buf  []byte
}

func (c *cbcWriter) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	n := len(c.buf) / 16 * 16
	if n >= 4096 {
		out := make([]byte, n)
		c.mode.CryptBlocks(out, c.buf[:n])
		c.buf = append(c.buf[:0], c.buf[n:]...)
		if _, err := c.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *cbcWriter) Close() error {
	pad := 16 - len(c.buf)%16
	for i := 0; i < pad; i++ {
		c.buf = append(c.buf, byte(pad))
	}
	out := make([]byte, len(c.buf))
	c.mode.CryptBlocks(out, c.buf)
	c.buf = nil
	_, err := c.w.Write(out)
	return err
}

// streamDecrypter returns the decrypted data of an encrypted stream and its
// length, reading from the file as consumed. For AES the padding is read
// first from the last block, so the length is known before streaming.
func (h *securityHandler) streamDecrypter(ref Ref, sr *io.SectionReader, n int64) (io.Reader, int64, error) {
	switch h.stm {
	case cmRC4:
		c, _ := rc4.NewCipher(h.objectKey(ref, cmRC4))
		return cipher.StreamReader{S: c, R: sr}, n, nil
	case cmAESV2, cmAESV3:
		if n == 0 || n == 16 {
			return bytes.NewReader(nil), 0, nil
		}
		if n < 32 || n%16 != 0 {
			return nil, 0, malformed(-1, "AES stream data of object %v has length %d", ref, n)
		}
		block, _ := aes.NewCipher(h.objectKey(ref, h.stm))
		tail := make([]byte, 32)
		if _, err := sr.ReadAt(tail, n-32); err != nil {
			return nil, 0, wrapIO(-1, "reading AES stream", err)
		}
		last := make([]byte, 16)
		cipher.NewCBCDecrypter(block, tail[:16]).CryptBlocks(last, tail[16:])
		pad := int64(last[15])
		if pad < 1 || pad > 16 {
			return nil, 0, malformed(-1, "bad AES padding in stream of object %v", ref)
		}
		iv := make([]byte, 16)
		if _, err := sr.ReadAt(iv, 0); err != nil {
			return nil, 0, wrapIO(-1, "reading AES stream", err)
		}
		plain := n - 16 - pad
		rd := &cbcReader{r: io.NewSectionReader(sr, 16, n-16), mode: cipher.NewCBCDecrypter(block, iv)}
		return io.LimitReader(rd, plain), plain, nil
	}
	return sr, n, nil
}

// cbcReader decrypts CBC data block by block (padding is left in; the
// caller limits the length).
type cbcReader struct {
	r    io.Reader
	mode cipher.BlockMode
	out  []byte
	buf  [4096]byte
}

func (c *cbcReader) Read(p []byte) (int, error) {
	if len(c.out) == 0 {
		n, err := io.ReadFull(c.r, c.buf[:])
		n = n / 16 * 16
		if n == 0 {
			if err == nil || err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return 0, err
		}
		c.mode.CryptBlocks(c.buf[:n], c.buf[:n])
		c.out = c.buf[:n]
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// Encryptor encrypts new strings and streams of an incremental update with
// the document's key, as the object they belong to requires. Update uses it
// automatically; it is exposed for callers that build raw bytes themselves.
type Encryptor struct {
	h *securityHandler
}

// Encryptor returns the document's encryptor, or nil when the document is
// not encrypted.
func (r *Reader) Encryptor() *Encryptor {
	if r.crypt == nil {
		return nil
	}
	return &Encryptor{h: r.crypt}
}

// EncryptString encrypts a string value of object ref.
func (e *Encryptor) EncryptString(ref Ref, plain []byte) ([]byte, error) {
	return e.h.encryptString(ref, plain)
}

// DecryptString decrypts a string value of object ref.
func (e *Encryptor) DecryptString(ref Ref, cipherText []byte) ([]byte, error) {
	return e.h.decryptString(ref, cipherText)
}

// EncryptStream returns a writer encrypting the data of stream object ref
// into w; Close must be called to flush the last block. EncryptedLen gives
// the resulting length for /Length.
func (e *Encryptor) EncryptStream(ref Ref, w io.Writer) (io.WriteCloser, error) {
	return e.h.streamEncrypter(ref, w)
}

// EncryptedLen returns the encrypted length of n bytes of stream data.
func (e *Encryptor) EncryptedLen(n int64) int64 { return e.h.streamCipherLen(n) }

// EncryptsStream reports whether a stream with dictionary d gets encrypted.
func (e *Encryptor) EncryptsStream(d *Dict) bool { return e.h.encryptsStream(d) }

// Permission bits of /P (ISO 32000-2 table 22), 1-based bit positions.
const (
	PermPrint    uint32 = 1 << 2  // bit 3
	PermModify   uint32 = 1 << 3  // bit 4
	PermCopy     uint32 = 1 << 4  // bit 5
	PermAnnotate uint32 = 1 << 5  // bit 6: add/modify annotations, fill forms
	PermFillForm uint32 = 1 << 8  // bit 9: fill form fields, sign
	PermAssemble uint32 = 1 << 10 // bit 11
)

// Permissions returns the /P value of an encrypted document (ok false when
// the document is not encrypted: everything is permitted). Opening with the
// empty user password grants only these; a signer should require
// PermFillForm (or PermAnnotate) before adding a signature.
func (r *Reader) Permissions() (p uint32, ok bool) {
	if r.crypt == nil {
		return 0, false
	}
	return r.crypt.perms, true
}
