package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"time"

	"vanban/signing/tsa"
)

// The hash chain alone proves only that the entries agree with each other:
// someone who can write to the database can rewrite every entry, recompute
// every hash and move the head, or cut the newest entries and move the
// head back. Two things the database alone cannot forge close that gap:
//
//   - the seal: a keyed MAC (HMAC-SHA256 with a key derived from the
//     server's secret) of the head's sequence number and hash, written
//     with every append into its own table. Without the key nobody can
//     seal a head of their own, so a rewritten chain or a cut tail no
//     longer matches its seal;
//   - anchors: the head time-stamped by an RFC 3161 authority at a regular
//     interval and on demand. The token is signed by the TSA, so a chain
//     rewritten afterwards disagrees with every anchor taken before; the
//     anchors are kept in the database and appended to a file outside it,
//     so restoring an older copy of the whole database (seal included) is
//     caught by the anchors the file still holds.

// HeadKey derives the key that seals the head from the server's secret, so
// the secret itself never becomes a MAC key shared with link signing.
func HeadKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("vanban audit head seal v1"))
	return m.Sum(nil)
}

// HeadMAC is the seal of a head: hex HMAC-SHA256 of its sequence number and
// hash under key (from HeadKey).
func HeadMAC(key []byte, seq int64, hash string) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "vanban-audit-head-v1\n%d\n%s\n", seq, hash)
	return hex.EncodeToString(m.Sum(nil))
}

// Head is the end of the chain as the database records it, with its seal.
type Head struct {
	Seq  int64
	Hash string
	// MAC is the seal written with the head (HeadMAC); "" when the head was
	// written by a process without the key.
	MAC string
	// SealSeq and SealHash are what the seal row names; they equal Seq and
	// Hash unless someone moved one without the other.
	SealSeq  int64
	SealHash string
}

// Anchor is the head of the chain at one moment, time-stamped.
type Anchor struct {
	Seq  int64
	Hash string
	// Time is when the anchor was taken (the TSA's time is in the token).
	Time time.Time
	// Token is the DER RFC 3161 TimeStampToken over AnchorImprint(Seq, Hash).
	Token []byte
	// MAC binds the anchor to this server (AnchorMAC); a token alone could
	// be bought for any hash by anyone.
	MAC string
}

// AnchorImprint is the SHA-256 digest the TSA time-stamps for a head.
func AnchorImprint(seq int64, hash string) []byte {
	sum := sha256.Sum256([]byte("vanban-audit-anchor-v1\n" + strconv.FormatInt(seq, 10) + "\n" + hash + "\n"))
	return sum[:]
}

// AnchorMAC is the keyed MAC of an anchor: its head, time and token.
func AnchorMAC(key []byte, a *Anchor) string {
	tok := sha256.Sum256(a.Token)
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "vanban-audit-anchor-mac-v1\n%d\n%s\n%d\n%x\n", a.Seq, a.Hash, a.Time.UTC().UnixMicro(), tok)
	return hex.EncodeToString(m.Sum(nil))
}

// SealedSource is a Source that also reads the head together with its seal
// and the anchors kept in the database. *store.DB implements it.
type SealedSource interface {
	Source
	AuditSealedHead(ctx context.Context) (Head, error)
	AuditAnchors(ctx context.Context) ([]Anchor, error)
}

// Options make Verify check the chain against what the database alone
// cannot forge.
type Options struct {
	// Key (from HeadKey) checks the seal of the head and of every anchor.
	// The source must then be a SealedSource.
	Key []byte
	// AnchorFile names the file of anchors kept outside the database
	// (AppendAnchorFile); a missing file holds no anchors.
	AnchorFile string
	// TSARoots, when set, must anchor every time-stamp token's TSA
	// certificate; otherwise only the token's own signature is checked.
	TSARoots *x509.CertPool
}

// VerifyWith is Verify plus the seal and the anchors: with opts.Key the
// head must carry a valid seal for exactly the head it names, and every
// anchor (from the database and from opts.AnchorFile) must carry a valid
// MAC and a valid time-stamp token over its head, name a sequence number
// the chain still reaches, and agree with the chain's hash there. A chain
// rewritten consistently disagrees with its seal or with an earlier
// anchor; a cut tail leaves the seal (or an anchor) pointing past the end.
func VerifyWith(ctx context.Context, src Source, opts Options) (Report, error) {
	var (
		head    Head
		anchors []Anchor
	)
	sealed, isSealed := src.(SealedSource)
	if opts.Key != nil {
		if !isSealed {
			return Report{}, errors.New("audit: this source keeps no seal")
		}
		var err error
		if head, err = sealed.AuditSealedHead(ctx); err != nil {
			return Report{}, fmt.Errorf("audit: read sealed head: %w", err)
		}
		if anchors, err = sealed.AuditAnchors(ctx); err != nil {
			return Report{}, fmt.Errorf("audit: read anchors: %w", err)
		}
	}
	if opts.AnchorFile != "" {
		fromFile, err := ReadAnchorFile(opts.AnchorFile)
		if err != nil {
			return Report{}, err
		}
		// The file repeats what this node also put in the database:
		// count each anchor once, check every copy that differs.
		seen := map[string]bool{}
		for _, a := range anchors {
			seen[anchorIdentity(&a)] = true
		}
		for _, a := range fromFile {
			if !seen[anchorIdentity(&a)] {
				anchors = append(anchors, a)
			}
		}
	}
	want := map[int64]string{} // seq -> hash the chain must have there
	for _, a := range anchors {
		want[a.Seq] = ""
	}
	r, err := verifyChain(ctx, src, want)
	if err != nil || !r.OK {
		return r, err
	}
	if opts.Key != nil {
		if r.HeadSeq != head.Seq || r.HeadHash != head.Hash {
			// Appends between the two reads: check again rather than guess.
			if r, err = verifyChain(ctx, src, want); err != nil || !r.OK {
				return r, err
			}
			if head, err = sealed.AuditSealedHead(ctx); err != nil {
				return Report{}, fmt.Errorf("audit: read sealed head: %w", err)
			}
			if r.HeadSeq != head.Seq || r.HeadHash != head.Hash {
				return r, fmt.Errorf("audit: the log kept growing during verification; try again")
			}
		}
		switch {
		case head.MAC == "" && head.Seq == 0 && len(anchors) == 0:
			// An empty log that was never written: nothing to seal yet.
		case head.MAC == "":
			return r.broken(head.Seq, "the head (seq %d) carries no seal: written without the server key, or the seal was removed", head.Seq)
		case head.SealSeq != head.Seq:
			return r.broken(min(head.Seq, head.SealSeq)+1, "the seal names seq %d but the head is seq %d: entries were cut or the head was moved", head.SealSeq, head.Seq)
		case head.SealHash != head.Hash:
			return r.broken(head.Seq, "the sealed hash of seq %d is %.12s… but the chain ends in %.12s…: the chain was rewritten", head.Seq, head.SealHash, head.Hash)
		case !hmac.Equal([]byte(head.MAC), []byte(HeadMAC(opts.Key, head.Seq, head.Hash))):
			return r.broken(head.Seq, "the seal of the head (seq %d) is not valid under the server key: the chain was rewritten or cut, or the key changed", head.Seq)
		}
		r.Sealed = true
	}
	for i := range anchors {
		a := &anchors[i]
		if a.Seq > r.HeadSeq {
			return r.broken(r.HeadSeq+1, "an anchor taken %s names seq %d but the chain ends at %d: the newest entries were cut", a.Time.Format(time.RFC3339), a.Seq, r.HeadSeq)
		}
		if got := want[a.Seq]; got != a.Hash {
			return r.broken(a.Seq, "entry %d has hash %.12s… but the anchor taken %s time-stamped %.12s…: the chain was rewritten", a.Seq, got, a.Time.Format(time.RFC3339), a.Hash)
		}
		if opts.Key != nil && !hmac.Equal([]byte(a.MAC), []byte(AnchorMAC(opts.Key, a))) {
			return r.broken(a.Seq, "the anchor of seq %d taken %s does not carry a valid MAC", a.Seq, a.Time.Format(time.RFC3339))
		}
		when, err := checkToken(a, opts.TSARoots)
		if err != nil {
			return r.broken(a.Seq, "the time-stamp of the anchor of seq %d: %v", a.Seq, err)
		}
		r.Anchors++
		if a.Seq >= r.AnchorSeq {
			r.AnchorSeq, r.AnchorTime = a.Seq, when
		}
	}
	return r, nil
}

func anchorIdentity(a *Anchor) string {
	tok := sha256.Sum256(a.Token)
	return fmt.Sprintf("%d/%s/%d/%s/%x", a.Seq, a.Hash, a.Time.UnixMicro(), a.MAC, tok)
}

// checkToken verifies an anchor's time-stamp token and returns its time.
func checkToken(a *Anchor, roots *x509.CertPool) (time.Time, error) {
	tok, err := tsa.Parse(a.Token)
	if err != nil {
		return time.Time{}, err
	}
	if err := tok.Covers(AnchorImprint(a.Seq, a.Hash), crypto.SHA256); err != nil {
		return time.Time{}, errors.New("the token does not cover this head")
	}
	if roots != nil {
		_, err = tok.VerifyChain(roots)
	} else {
		err = tok.Verify()
	}
	if err != nil {
		return time.Time{}, err
	}
	return tok.Time, nil
}

func (r Report) broken(seq int64, format string, args ...any) (Report, error) {
	r.OK = false
	r.FirstBadSeq = seq
	r.Problem = fmt.Sprintf(format, args...)
	return r, nil
}

// Timestamper obtains an RFC 3161 token over a digest; *tsa.Client is one.
type Timestamper interface {
	Timestamp(ctx context.Context, messageImprint []byte, hash crypto.Hash) ([]byte, error)
}

// AnchorStore is where anchors are kept; *store.DB implements it.
type AnchorStore interface {
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
	AddAuditAnchor(ctx context.Context, a Anchor) error
	LastAuditAnchor(ctx context.Context) (Anchor, bool, error)
}

// Anchorer time-stamps the head of the chain.
type Anchorer struct {
	Store AnchorStore
	TSA   Timestamper
	Key   []byte // from HeadKey
	// File, when set, receives a copy of every anchor (AppendAnchorFile).
	File string
	// Interval between anchors in Run; an unchanged head is not anchored
	// again.
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Anchor time-stamps the current head and keeps the token. It returns
// ok=false, without asking the TSA, when the log is empty or the newest
// anchor already covers the head.
func (an *Anchorer) Anchor(ctx context.Context) (a Anchor, ok bool, err error) {
	seq, hash, err := an.Store.AuditHead(ctx)
	if err != nil {
		return Anchor{}, false, err
	}
	if seq == 0 {
		return Anchor{}, false, nil
	}
	last, has, err := an.Store.LastAuditAnchor(ctx)
	if err != nil {
		return Anchor{}, false, err
	}
	if has && last.Seq == seq && last.Hash == hash {
		return last, false, nil
	}
	token, err := an.TSA.Timestamp(ctx, AnchorImprint(seq, hash), crypto.SHA256)
	if err != nil {
		return Anchor{}, false, fmt.Errorf("audit: time-stamp the head: %w", err)
	}
	now := time.Now
	if an.Now != nil {
		now = an.Now
	}
	a = Anchor{Seq: seq, Hash: hash, Time: now().UTC().Truncate(time.Microsecond), Token: token}
	a.MAC = AnchorMAC(an.Key, &a)
	// The file first: an anchor in the database but not in the file would
	// protect less than one in both, never the other way round.
	if an.File != "" {
		if err := AppendAnchorFile(an.File, a); err != nil {
			return Anchor{}, false, err
		}
	}
	if err := an.Store.AddAuditAnchor(ctx, a); err != nil {
		return Anchor{}, false, err
	}
	return a, true, nil
}

// Run anchors the head every Interval until ctx ends. A TSA that does not
// answer is logged and tried again at the next tick.
func (an *Anchorer) Run(ctx context.Context) error {
	interval := an.Interval
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if a, ok, err := an.Anchor(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if an.Logger != nil {
				an.Logger.Warn("audit anchor failed; retrying at the next interval", "err", err)
			}
		} else if ok && an.Logger != nil {
			an.Logger.Info("audit head anchored", "seq", a.Seq, "hash", a.Hash)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// anchorLine is one line of the anchor file.
type anchorLine struct {
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
	Time  int64  `json:"at_us"`
	Token string `json:"token"` // base64 DER
	MAC   string `json:"mac"`
}

// maxAnchorFile bounds what ReadAnchorFile reads: an anchor an hour for a
// century is under 4 GB of lines, so this is a sanity limit, not a policy.
const maxAnchorLine = 64 << 10

// AppendAnchorFile adds a to the JSON-lines file at path (created 0600),
// synced before returning.
func AppendAnchorFile(path string, a Anchor) error {
	line, err := json.Marshal(anchorLine{Seq: a.Seq, Hash: a.Hash, Time: a.Time.UTC().UnixMicro(),
		Token: base64.StdEncoding.EncodeToString(a.Token), MAC: a.MAC})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: anchor file: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("audit: anchor file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit: anchor file: %w", err)
	}
	return f.Close()
}

// ReadAnchorFile reads the anchors of a file written by AppendAnchorFile;
// a missing file has none. A damaged line is an error naming it: an anchor
// file that cannot be read proves nothing, and saying nothing would hide
// that.
func ReadAnchorFile(path string) ([]Anchor, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: anchor file: %w", err)
	}
	defer f.Close()
	var out []Anchor
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxAnchorLine)
	for n := 1; sc.Scan(); n++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var l anchorLine
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("audit: anchor file %s line %d: %w", path, n, err)
		}
		tok, err := base64.StdEncoding.DecodeString(l.Token)
		if err != nil {
			return nil, fmt.Errorf("audit: anchor file %s line %d: token: %w", path, n, err)
		}
		out = append(out, Anchor{Seq: l.Seq, Hash: l.Hash, Time: time.UnixMicro(l.Time).UTC(), Token: tok, MAC: l.MAC})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit: anchor file %s: %w", path, err)
	}
	return out, nil
}
