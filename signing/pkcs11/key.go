//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"vanban/signing"
)

// Key is a crypto.Signer over a private key on a PKCS#11 token. It is safe
// for concurrent use: each signature borrows a session from a pool of at
// most Config.MaxSessions, since a PKCS#11 session runs one operation at a
// time. The user logs in once, on a session kept open for the Key's
// lifetime, because login state ends when a token's last session closes.
type Key struct {
	mod        *module
	ctx        *p11.Ctx
	slot       uint
	pin        string
	pub        crypto.PublicKey
	cert       *x509.Certificate
	alwaysAuth bool
	label      string

	// loginMu guards the login session and the key handle, which both
	// change when the token was reset under us (see recover).
	loginMu      sync.Mutex
	loginSession p11.SessionHandle
	handle       p11.ObjectHandle
	keyTemplate  []*p11.Attribute

	idle    chan p11.SessionHandle
	permits chan struct{} // one per open pooled session
	done    chan struct{}

	mu        sync.Mutex
	closed    bool
	inFlight  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var _ crypto.Signer = (*Key)(nil)

// OpenKey loads the module, finds the token and key cfg names, logs in and
// reads the key's public half and certificate. Close releases it.
func OpenKey(cfg Config) (*Key, error) {
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = defaultMaxSessions
	}
	mod, err := loadModule(cfg.ModulePath)
	if err != nil {
		return nil, mapError("loading module", err)
	}
	k := &Key{
		mod:     mod,
		ctx:     mod.ctx,
		pin:     cfg.PIN,
		idle:    make(chan p11.SessionHandle, cfg.MaxSessions),
		permits: make(chan struct{}, cfg.MaxSessions),
		done:    make(chan struct{}),
	}
	if err := k.open(cfg); err != nil {
		if k.loginSession != 0 {
			_ = k.ctx.CloseSession(k.loginSession)
		}
		_ = mod.release()
		return nil, mapError("opening key", err)
	}
	return k, nil
}

func (k *Key) open(cfg Config) error {
	slot, err := findSlot(k.ctx, cfg)
	if err != nil {
		return err
	}
	k.slot = slot
	if k.loginSession, err = k.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION); err != nil {
		return mapError("opening session", err)
	}
	if err := k.login(); err != nil {
		return err
	}
	sh := k.loginSession
	tmpl := []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY)}
	if cfg.Object != "" {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_LABEL, cfg.Object))
	}
	if len(cfg.ID) > 0 {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, cfg.ID))
	}
	k.keyTemplate = tmpl
	handles, err := findObjects(k.ctx, sh, tmpl)
	if err != nil {
		return mapError("finding the private key", err)
	}
	what := describeKey(cfg)
	switch len(handles) {
	case 0:
		msg := "no private key " + what + " on the token"
		if cfg.PIN == "" {
			msg += " (no PIN given: private keys are invisible before login)"
		}
		return &p11Error{signing.KindNoCertificate, msg, nil}
	case 1:
	default:
		return &p11Error{signing.KindBadRequest, fmt.Sprintf("%d private keys match %s; add id= to the URI", len(handles), what), nil}
	}
	k.handle = handles[0]

	attrs, err := k.ctx.GetAttributeValue(sh, k.handle, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_KEY_TYPE, nil),
		p11.NewAttribute(p11.CKA_ID, nil),
		p11.NewAttribute(p11.CKA_LABEL, nil),
	})
	if err != nil {
		return mapError("reading key attributes", err)
	}
	keyType, id, label := ulong(attrs[0].Value), attrs[1].Value, string(attrs[2].Value)
	k.label = label
	if aa, err := k.ctx.GetAttributeValue(sh, k.handle, []*p11.Attribute{p11.NewAttribute(p11.CKA_ALWAYS_AUTHENTICATE, nil)}); err == nil && len(aa[0].Value) == 1 {
		k.alwaysAuth = aa[0].Value[0] != 0
	}

	certs, err := k.certificates(sh, id, label)
	if err != nil {
		return err
	}
	switch keyType {
	case p11.CKK_RSA:
		k.pub, err = k.rsaPublic(sh, id)
	case p11.CKK_EC:
		k.pub, err = k.ecPublic(sh, id)
	default:
		return &p11Error{signing.KindBadRequest, fmt.Sprintf("key %s has type 0x%x; only RSA and EC keys can sign here", what, keyType), nil}
	}
	if err != nil {
		// Some tokens hide the public attributes; then the certificate is
		// the only source, and every signature is still verified by Local.
		for _, c := range certs {
			if matchesKeyType(c, keyType) {
				k.pub = c.PublicKey
				break
			}
		}
		if k.pub == nil {
			return err
		}
	}
	for _, c := range certs {
		if publicEqual(k.pub, c.PublicKey) && (k.cert == nil || c.NotAfter.After(k.cert.NotAfter)) {
			k.cert = c
		}
	}
	return nil
}

// login logs the user in on the long-lived session. A token already logged
// in by this process (another provider on the same token) is fine.
func (k *Key) login() error {
	if k.pin == "" {
		info, err := k.ctx.GetTokenInfo(k.slot)
		if err == nil && info.Flags&p11.CKF_LOGIN_REQUIRED != 0 {
			return &p11Error{signing.KindUnauthorized, "the token requires a PIN (pin-env=, pin-file= or pin-source=)", nil}
		}
		return nil
	}
	err := k.ctx.Login(k.loginSession, p11.CKU_USER, k.pin)
	if err != nil && !isCode(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
		return mapError("login", err)
	}
	return nil
}

// Public returns the key's public half, read from the token.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Certificate returns the certificate stored on the token for this key, or
// nil when the token holds none.
func (k *Key) Certificate() *x509.Certificate { return k.cert }

// Sign signs digest, computed with opts.HashFunc(). For RSA, opts may be
// *rsa.PSSOptions for PSS; otherwise PKCS#1 v1.5 is used. ECDSA signatures
// come back in ASN.1 DER, like crypto/ecdsa's. Errors are *signing.Error.
func (k *Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	mech, data, err := k.mechanism(digest, opts)
	if err != nil {
		return nil, err
	}
	sig, err := k.withSession(func(sh p11.SessionHandle, key p11.ObjectHandle) ([]byte, error) {
		if err := k.ctx.SignInit(sh, mech, key); err != nil {
			return nil, err
		}
		if k.alwaysAuth {
			// Keys for qualified signatures demand the PIN again for every
			// operation (CKA_ALWAYS_AUTHENTICATE).
			if err := k.ctx.Login(sh, p11.CKU_CONTEXT_SPECIFIC, k.pin); err != nil {
				return nil, err
			}
		}
		return k.ctx.Sign(sh, data)
	})
	if err != nil {
		return nil, mapError("signing", err)
	}
	if pub, ok := k.pub.(*ecdsa.PublicKey); ok {
		// CKM_ECDSA returns r||s; crypto.Signer callers and CMS expect DER.
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return nil, &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: fmt.Sprintf("token returned a %d-byte ECDSA signature, want %d", len(sig), 2*size)}
		}
		der, err := signing.ECDSARawToDER(sig)
		if err != nil {
			return nil, &signing.Error{Kind: signing.KindBadSignature, Provider: Scheme, Message: "token returned a malformed ECDSA signature", Err: err}
		}
		return der, nil
	}
	return sig, nil
}

// mechanism picks the PKCS#11 mechanism and the bytes the token signs.
func (k *Key) mechanism(digest []byte, opts crypto.SignerOpts) ([]*p11.Mechanism, []byte, error) {
	hash := opts.HashFunc()
	if hash != 0 && len(digest) != hash.Size() {
		return nil, nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: fmt.Sprintf("digest is %d bytes, %v needs %d", len(digest), hash, hash.Size())}
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			hashMech, mgf, ok := pssHash(hash)
			if !ok {
				return nil, nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: fmt.Sprintf("RSA-PSS with %v is not supported", hash)}
			}
			salt, err := pssSaltLength(pss, pub, hash)
			if err != nil {
				return nil, nil, err
			}
			return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_PSS, p11.NewPSSParams(hashMech, mgf, uint(salt)))}, digest, nil
		}
		// CKM_RSA_PKCS only pads: the DigestInfo that names the hash is
		// ours to add, as RFC 8017 section 9.2 describes.
		data := digest
		if hash != 0 {
			var err error
			if data, err = digestInfo(hash, digest); err != nil {
				return nil, nil, err
			}
		}
		return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS, nil)}, data, nil
	case *ecdsa.PublicKey:
		if _, ok := opts.(*rsa.PSSOptions); ok {
			return nil, nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "PSS options for an EC key"}
		}
		return []*p11.Mechanism{p11.NewMechanism(p11.CKM_ECDSA, nil)}, digest, nil
	}
	return nil, nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "unsupported key type"}
}

var hashOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA1:   {1, 3, 14, 3, 2, 26},
	crypto.SHA224: {2, 16, 840, 1, 101, 3, 4, 2, 4},
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

// digestInfo encodes the DER DigestInfo of RFC 8017 (hash OID with NULL
// parameters, then the digest) that PKCS#1 v1.5 signs.
func digestInfo(hash crypto.Hash, digest []byte) ([]byte, error) {
	oid, ok := hashOIDs[hash]
	if !ok {
		return nil, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: fmt.Sprintf("no DigestInfo for %v", hash)}
	}
	return asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}{pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}, digest})
}

func pssHash(h crypto.Hash) (hashMech, mgf uint, ok bool) {
	switch h {
	case crypto.SHA256:
		return p11.CKM_SHA256, p11.CKG_MGF1_SHA256, true
	case crypto.SHA384:
		return p11.CKM_SHA384, p11.CKG_MGF1_SHA384, true
	case crypto.SHA512:
		return p11.CKM_SHA512, p11.CKG_MGF1_SHA512, true
	case crypto.SHA224:
		return p11.CKM_SHA224, p11.CKG_MGF1_SHA224, true
	case crypto.SHA1:
		return p11.CKM_SHA_1, p11.CKG_MGF1_SHA1, true
	}
	return 0, 0, false
}

// pssSaltLength resolves Go's salt length conventions to a byte count, as
// rsa.SignPSS does: Auto means the longest salt the key allows.
func pssSaltLength(opts *rsa.PSSOptions, pub *rsa.PublicKey, hash crypto.Hash) (int, error) {
	emLen := (pub.N.BitLen() - 1 + 7) / 8
	max := emLen - hash.Size() - 2
	switch s := opts.SaltLength; {
	case s == rsa.PSSSaltLengthEqualsHash:
		return hash.Size(), nil
	case s == rsa.PSSSaltLengthAuto:
		return max, nil
	case s > 0 && s <= max:
		return s, nil
	}
	return 0, &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: fmt.Sprintf("PSS salt length %d does not fit the key", opts.SaltLength)}
}

// withSession runs op on a pooled session with the key's handle. When the
// token was reset under us (HSM failover, token re-inserted, every session
// closed) the pooled sessions, the login and even the key's handle are
// gone; withSession throws the sessions away, logs in again, finds the key
// again and retries, so one reset costs one slow signature, not an outage.
func (k *Key) withSession(op func(p11.SessionHandle, p11.ObjectHandle) ([]byte, error)) ([]byte, error) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "key is closed"}
	}
	k.inFlight.Add(1)
	k.mu.Unlock()
	defer k.inFlight.Done()

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		sh, err := k.acquire()
		if err != nil {
			return nil, err
		}
		k.loginMu.Lock()
		key := k.handle
		k.loginMu.Unlock()
		out, err := op(sh, key)
		// After a failed C_SignInit/C_Login/C_Sign an operation may still be
		// active on the session; a fresh session is cheaper than finding out.
		k.releaseSession(sh, err != nil)
		if err == nil {
			return out, nil
		}
		lastErr = err
		switch {
		case sessionBroken(err):
			k.flushIdle() // the other pooled sessions died with this one
		case isCode(err, p11.CKR_USER_NOT_LOGGED_IN), isCode(err, p11.CKR_OBJECT_HANDLE_INVALID), isCode(err, p11.CKR_KEY_HANDLE_INVALID):
			if rerr := k.recover(); rerr != nil {
				return nil, rerr
			}
		default:
			return nil, err
		}
	}
	return nil, lastErr
}

// recover restores the login session, the login and the key handle.
func (k *Key) recover() error {
	k.loginMu.Lock()
	defer k.loginMu.Unlock()
	if _, err := k.ctx.GetSessionInfo(k.loginSession); err != nil {
		sh, err := k.ctx.OpenSession(k.slot, p11.CKF_SERIAL_SESSION)
		if err != nil {
			return mapError("reopening session", err)
		}
		k.loginSession = sh
	}
	if err := k.login(); err != nil {
		return err
	}
	handles, err := findObjects(k.ctx, k.loginSession, k.keyTemplate)
	if err != nil {
		return mapError("finding the private key again", err)
	}
	if len(handles) != 1 {
		return &signing.Error{Kind: signing.KindNoCertificate, Provider: Scheme, Message: fmt.Sprintf("after a token reset %d private keys match, want 1", len(handles))}
	}
	k.handle = handles[0]
	return nil
}

// flushIdle closes the idle pooled sessions.
func (k *Key) flushIdle() {
	for {
		select {
		case sh := <-k.idle:
			_ = k.ctx.CloseSession(sh)
			<-k.permits
		default:
			return
		}
	}
}

func (k *Key) acquire() (p11.SessionHandle, error) {
	select {
	case sh := <-k.idle:
		return sh, nil
	default:
	}
	select {
	case sh := <-k.idle:
		return sh, nil
	case k.permits <- struct{}{}:
		sh, err := k.ctx.OpenSession(k.slot, p11.CKF_SERIAL_SESSION)
		if err != nil {
			<-k.permits
			return 0, err
		}
		return sh, nil
	case <-k.done:
		return 0, &signing.Error{Kind: signing.KindUnavailable, Provider: Scheme, Message: "key is closed"}
	}
}

func (k *Key) releaseSession(sh p11.SessionHandle, discard bool) {
	k.mu.Lock()
	closed := k.closed
	k.mu.Unlock()
	if discard || closed {
		_ = k.ctx.CloseSession(sh)
		<-k.permits
		return
	}
	k.idle <- sh // never blocks: idle holds at most one entry per permit
}

// Close waits for signatures in progress, closes the sessions and releases
// the module. Using the Key afterwards returns KindUnavailable.
func (k *Key) Close() error {
	k.closeOnce.Do(func() {
		k.mu.Lock()
		k.closed = true
		close(k.done)
		k.mu.Unlock()
		k.inFlight.Wait()
		k.flushIdle()
		_ = k.ctx.CloseSession(k.loginSession)
		k.closeErr = k.mod.release()
	})
	return k.closeErr
}

func findSlot(ctx *p11.Ctx, cfg Config) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, mapError("listing slots", err)
	}
	var matches []uint
	var seen []string
	for _, s := range slots {
		info, err := ctx.GetTokenInfo(s)
		if err != nil {
			continue // a token removed while we looked
		}
		if info.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		seen = append(seen, fmt.Sprintf("%q (serial %s, slot %d)", info.Label, info.SerialNumber, s))
		if (cfg.Token == "" || info.Label == cfg.Token) &&
			(cfg.Serial == "" || info.SerialNumber == cfg.Serial) &&
			(cfg.Manufacturer == "" || info.ManufacturerID == cfg.Manufacturer) &&
			(cfg.Model == "" || info.Model == cfg.Model) &&
			(cfg.SlotID == nil || *cfg.SlotID == s) {
			matches = append(matches, s)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		present := "none"
		if len(seen) > 0 {
			present = strings.Join(seen, ", ")
		}
		// A token that is not there may be unplugged; retrying can help.
		return 0, &p11Error{signing.KindUnreachable, fmt.Sprintf("no token matches %s; tokens present: %s", describeToken(cfg), present), nil}
	}
	return 0, &p11Error{signing.KindBadRequest, fmt.Sprintf("%d tokens match %s; add serial= or slot-id=", len(matches), describeToken(cfg)), nil}
}

func findObjects(ctx *p11.Ctx, sh p11.SessionHandle, tmpl []*p11.Attribute) ([]p11.ObjectHandle, error) {
	if err := ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	var all []p11.ObjectHandle
	for {
		hs, _, err := ctx.FindObjects(sh, 32)
		if err != nil {
			_ = ctx.FindObjectsFinal(sh)
			return nil, err
		}
		if len(hs) == 0 {
			break
		}
		all = append(all, hs...)
	}
	return all, ctx.FindObjectsFinal(sh)
}

// certificates returns the X.509 certificates stored with the key: same
// CKA_ID when the key has one, else same label.
func (k *Key) certificates(sh p11.SessionHandle, id []byte, label string) ([]*x509.Certificate, error) {
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_CERTIFICATE),
		p11.NewAttribute(p11.CKA_CERTIFICATE_TYPE, p11.CKC_X_509),
	}
	switch {
	case len(id) > 0:
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, id))
	case label != "":
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_LABEL, label))
	default:
		return nil, nil
	}
	handles, err := findObjects(k.ctx, sh, tmpl)
	if err != nil {
		return nil, mapError("finding certificates", err)
	}
	var certs []*x509.Certificate
	for _, h := range handles {
		attrs, err := k.ctx.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE, nil)})
		if err != nil {
			return nil, mapError("reading a certificate", err)
		}
		c, err := x509.ParseCertificate(attrs[0].Value)
		if err != nil {
			return nil, &p11Error{signing.KindBadRequest, "a certificate on the token does not parse", err}
		}
		certs = append(certs, c)
	}
	return certs, nil
}

func (k *Key) rsaPublic(sh p11.SessionHandle, id []byte) (crypto.PublicKey, error) {
	want := []*p11.Attribute{p11.NewAttribute(p11.CKA_MODULUS, nil), p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, nil)}
	attrs, err := k.ctx.GetAttributeValue(sh, k.handle, want)
	if err != nil || len(attrs[0].Value) == 0 {
		h, herr := k.publicObject(sh, id)
		if herr != nil {
			return nil, herr
		}
		if attrs, err = k.ctx.GetAttributeValue(sh, h, want); err != nil {
			return nil, mapError("reading the RSA public key", err)
		}
	}
	e := new(big.Int).SetBytes(attrs[1].Value)
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, &p11Error{signing.KindBadRequest, "RSA public exponent out of range", nil}
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(attrs[0].Value), E: int(e.Int64())}, nil
}

var curveOIDs = []struct {
	oid   asn1.ObjectIdentifier
	curve elliptic.Curve
}{
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, elliptic.P256()},
	{asn1.ObjectIdentifier{1, 3, 132, 0, 34}, elliptic.P384()},
	{asn1.ObjectIdentifier{1, 3, 132, 0, 35}, elliptic.P521()},
}

// ecPublic reads CKA_EC_PARAMS and CKA_EC_POINT from the public key object;
// private key objects carry no point.
func (k *Key) ecPublic(sh p11.SessionHandle, id []byte) (crypto.PublicKey, error) {
	h, err := k.publicObject(sh, id)
	if err != nil {
		return nil, err
	}
	attrs, err := k.ctx.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_PARAMS, nil), p11.NewAttribute(p11.CKA_EC_POINT, nil)})
	if err != nil {
		return nil, mapError("reading the EC public key", err)
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(attrs[0].Value, &oid); err != nil {
		return nil, &p11Error{signing.KindBadRequest, "EC key parameters are not a named curve", err}
	}
	var curve elliptic.Curve
	for _, c := range curveOIDs {
		if c.oid.Equal(oid) {
			curve = c.curve
		}
	}
	if curve == nil {
		return nil, &p11Error{signing.KindBadRequest, "unsupported EC curve " + oid.String(), nil}
	}
	// PKCS#11 wraps the point in a DER OCTET STRING; some tokens do not.
	point := attrs[1].Value
	var inner []byte
	if rest, err := asn1.Unmarshal(point, &inner); err == nil && len(rest) == 0 {
		point = inner
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, &p11Error{signing.KindBadRequest, "EC public point does not parse", err}
	}
	return pub, nil
}

func (k *Key) publicObject(sh p11.SessionHandle, id []byte) (p11.ObjectHandle, error) {
	tmpl := []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY)}
	if len(id) > 0 {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, id))
	} else {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_LABEL, k.label))
	}
	hs, err := findObjects(k.ctx, sh, tmpl)
	if err != nil {
		return 0, mapError("finding the public key", err)
	}
	if len(hs) != 1 {
		return 0, &p11Error{signing.KindNoCertificate, fmt.Sprintf("found %d public key objects for the key, want 1", len(hs)), nil}
	}
	return hs[0], nil
}

func ulong(b []byte) uint {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b))
	case 4:
		return uint(binary.NativeEndian.Uint32(b))
	}
	return ^uint(0)
}

func matchesKeyType(c *x509.Certificate, keyType uint) bool {
	switch c.PublicKey.(type) {
	case *rsa.PublicKey:
		return keyType == p11.CKK_RSA
	case *ecdsa.PublicKey:
		return keyType == p11.CKK_EC
	}
	return false
}

func publicEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func describeKey(cfg Config) string {
	var parts []string
	if cfg.Object != "" {
		parts = append(parts, "object="+cfg.Object)
	}
	if len(cfg.ID) > 0 {
		parts = append(parts, "id="+hex.EncodeToString(cfg.ID))
	}
	return strings.Join(parts, ";")
}

func describeToken(cfg Config) string {
	var parts []string
	for _, kv := range [][2]string{{"token", cfg.Token}, {"serial", cfg.Serial}, {"manufacturer", cfg.Manufacturer}, {"model", cfg.Model}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if cfg.SlotID != nil {
		parts = append(parts, fmt.Sprintf("slot-id=%d", *cfg.SlotID))
	}
	return strings.Join(parts, ";")
}

// orderChain puts leaf first and follows issuers through certs; anything
// unrelated goes last.
func orderChain(leaf *x509.Certificate, certs []*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{leaf}
	var rest []*x509.Certificate
	for _, c := range certs {
		if !c.Equal(leaf) {
			rest = append(rest, c)
		}
	}
	for len(rest) > 0 {
		last := chain[len(chain)-1]
		if bytes.Equal(last.RawIssuer, last.RawSubject) {
			break
		}
		next := -1
		for i, c := range rest {
			if bytes.Equal(c.RawSubject, last.RawIssuer) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		chain = append(chain, rest[next])
		rest = append(rest[:next], rest[next+1:]...)
	}
	return append(chain, rest...)
}
