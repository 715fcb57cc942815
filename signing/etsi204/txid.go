package etsi204

import (
	"crypto"
	"encoding/base64"
	"strconv"
	"strings"

	"vanban/signing"
)

// A TxID carries what Poll needs to finish a request after a restart: the
// transaction id at the MSSP (async) or our AP_TransID (sync), the phone
// number (to look the certificate up again) and the digest with its hash
// and algorithm (to verify the signature):
//
//	a1.<base64url MSSP_TransID>.<msisdn>.<hash>.<algorithm>.<base64url digest>
//
// It is opaque to callers, who store it with the session.
const (
	txAsync = "a1."
	txSync  = "s1."
)

func encodeTxID(prefix, id, msisdn string, req signing.Request) string {
	return prefix + strings.Join([]string{
		base64.RawURLEncoding.EncodeToString([]byte(id)),
		msisdn,
		strconv.Itoa(int(req.Hash)),
		strconv.Itoa(int(req.Algorithm)),
		base64.RawURLEncoding.EncodeToString(req.Digest),
	}, ".")
}

func decodeTxID(txID string) (id, msisdn string, req signing.Request, err error) {
	bad := func(why string) error {
		return &signing.Error{Kind: signing.KindBadRequest, Provider: Scheme, Message: "malformed transaction id: " + why}
	}
	if !strings.HasPrefix(txID, txAsync) && !strings.HasPrefix(txID, txSync) {
		return "", "", req, bad("unknown version")
	}
	parts := strings.Split(txID[len(txAsync):], ".")
	if len(parts) != 5 {
		return "", "", req, bad("wrong number of fields")
	}
	rawID, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || len(rawID) == 0 {
		return "", "", req, bad("transaction field")
	}
	if checkMSISDN(parts[1]) != nil {
		return "", "", req, bad("phone number field")
	}
	h, err := strconv.Atoi(parts[2])
	if err != nil || h <= 0 || !crypto.Hash(h).Available() {
		return "", "", req, bad("hash field")
	}
	alg, err := strconv.Atoi(parts[3])
	if err != nil || alg < int(signing.RSAPKCS1v15) || alg > int(signing.ECDSA) {
		return "", "", req, bad("algorithm field")
	}
	digest, err := base64.RawURLEncoding.DecodeString(parts[4])
	if err != nil || len(digest) != crypto.Hash(h).Size() {
		return "", "", req, bad("digest field")
	}
	req = signing.Request{SignerID: parts[1], Digest: digest, Hash: crypto.Hash(h), Algorithm: signing.Algorithm(alg)}
	return string(rawID), parts[1], req, nil
}

// MSSPTransID returns the MSSP_TransID inside an asynchronous TxID, for
// links that name the transaction at the MSSP (the simulator's virtual
// phone); ok is false for a synchronous or malformed TxID.
func MSSPTransID(txID string) (id string, ok bool) {
	if !strings.HasPrefix(txID, txAsync) {
		return "", false
	}
	id, _, _, err := decodeTxID(txID)
	return id, err == nil
}
