package smartcasim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// With Options.StateDir set, the simulator keeps what a real SmartCA keeps
// on its side of a transaction, so that it outlives the process (the
// embedded default runs the simulator inside vanban, and a crash of vanban
// must not lose a confirmation the user already gave on the phone):
//
//	StateDir/tx/<sha256 of the transaction id>.json   one file per transaction
//	StateDir/phones.json                              requests and confirmations per user
//
// Every file is written to a temporary file, fsync'd, renamed over the old
// one, and the directory fsync'd, so a crash leaves the old or the new
// version, never a torn one. A transaction is written before the sign call
// answers and again when it ends, before the status or the callback can
// report it.

// txRecord is a transaction as stored.
type txRecord struct {
	ID          string       `json:"transaction_id"`
	UserID      string       `json:"user_id"`
	Serial      string       `json:"serial_number"`
	Description string       `json:"transaction_desc"`
	Files       []signFile   `json:"sign_files"`
	Fingerprint string       `json:"fingerprint"`
	Status      string       `json:"tran_status"`
	Message     string       `json:"message,omitempty"`
	Signatures  []SignedFile `json:"signatures,omitempty"`
	Created     time.Time    `json:"created"`
	Expires     time.Time    `json:"expires"`
	Ended       time.Time    `json:"ended,omitzero"`
	// CallbackPending: the outcome has not been delivered to the service
	// provider yet; a restarted simulator delivers it again.
	CallbackPending bool `json:"callback_pending,omitempty"`
}

// phoneCounts are a user's counters as stored.
type phoneCounts struct {
	Requests      int `json:"requests"`
	Confirmations int `json:"confirmations"`
}

func (s *Server) txDir() string { return filepath.Join(s.opts.StateDir, "tx") }

func (s *Server) txFile(id string) string {
	h := sha256.Sum256([]byte(id))
	return filepath.Join(s.txDir(), hex.EncodeToString(h[:])+".json")
}

func recordOf(tx *transaction) txRecord {
	return txRecord{ID: tx.id, UserID: tx.user.id, Serial: tx.serial, Description: tx.description, Files: tx.files,
		Fingerprint: tx.fingerprint, Status: tx.status, Message: tx.message, Signatures: tx.signatures,
		Created: tx.created, Expires: tx.expires, Ended: tx.ended, CallbackPending: tx.callbackPending}
}

// saveTxLocked writes tx to the state directory; a no-op without one.
// Caller holds s.mu.
func (s *Server) saveTxLocked(tx *transaction) error {
	if s.opts.StateDir == "" {
		return nil
	}
	b, err := json.Marshal(recordOf(tx))
	if err != nil {
		return err
	}
	return writeDurable(s.txFile(tx.id), b)
}

// removeTxLocked forgets tx's file. Caller holds s.mu.
func (s *Server) removeTxLocked(tx *transaction) {
	if s.opts.StateDir == "" {
		return
	}
	if err := os.Remove(s.txFile(tx.id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.opts.Logger.Warn("smartcasim: removing an old transaction", "transaction", tx.id, "err", err)
	}
}

// savePhonesLocked writes every user's counters. Caller holds s.mu.
func (s *Server) savePhonesLocked() error {
	if s.opts.StateDir == "" {
		return nil
	}
	counts := map[string]phoneCounts{}
	for id, u := range s.users {
		if u.prompts > 0 || u.confirmations > 0 {
			counts[id] = phoneCounts{Requests: u.prompts, Confirmations: u.confirmations}
		}
	}
	for id, c := range s.storedCounts { // users not loaded in this run yet
		if _, ok := s.users[id]; !ok {
			counts[id] = c
		}
	}
	b, err := json.Marshal(counts)
	if err != nil {
		return err
	}
	return writeDurable(filepath.Join(s.opts.StateDir, "phones.json"), b)
}

// load reads the state directory: the phones' counters, then every
// transaction, re-attached to its user (whose key comes from KeyDir). A
// waiting transaction is waiting again on the phone, a scenario user's is
// answered again, and an outcome whose callback was not delivered is sent
// again.
func (s *Server) load() error {
	if err := os.MkdirAll(s.txDir(), 0o700); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(s.opts.StateDir, "phones.json")); err == nil {
		if err := json.Unmarshal(b, &s.storedCounts); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(s.opts.StateDir, "phones.json"), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	entries, err := os.ReadDir(s.txDir())
	if err != nil {
		return err
	}
	var recs []txRecord
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue // a temporary file a crash left behind
		}
		path := filepath.Join(s.txDir(), e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var rec txRecord
		if err := json.Unmarshal(b, &rec); err != nil || rec.ID == "" || !validUser(rec.UserID) || filepath.Base(s.txFile(rec.ID)) != e.Name() {
			// Written whole or not at all, so this is not ours: keep it
			// for a look, but do not serve it.
			s.opts.Logger.Warn("smartcasim: ignoring an unreadable transaction file", "file", path)
			continue
		}
		recs = append(recs, rec)
	}
	for _, rec := range recs {
		u, err := s.user(rec.UserID)
		if err != nil {
			return fmt.Errorf("transaction %s: %w", rec.ID, err)
		}
		tx := &transaction{id: rec.ID, user: u, serial: rec.Serial, description: rec.Description, files: rec.Files,
			fingerprint: rec.Fingerprint, status: rec.Status, message: rec.Message, signatures: rec.Signatures,
			created: rec.Created, expires: rec.Expires, ended: rec.Ended, callbackPending: rec.CallbackPending}
		s.mu.Lock()
		s.txs[tx.id] = tx
		if tx.status == TranWaiting && (u.pending == nil || u.pending.created.Before(tx.created)) {
			u.pending = tx
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tx := range s.txs {
		switch {
		case tx.status == TranWaiting && tx.user.pending == tx:
			if sc := scenarioOf(tx.user.id); sc != ScenarioNone || s.opts.AutoApprove {
				s.wg.Add(1)
				go s.answerLater(tx, sc)
			}
		case tx.status == TranWaiting:
			// Two waiting on one phone cannot happen; end the older.
			s.endLocked(tx, TranExpired, "superseded")
		case tx.callbackPending && s.opts.CallbackURL != "":
			s.sendCallbackLocked(tx)
		}
	}
	s.expireLocked(s.opts.Now())
	return nil
}

// writeDurable replaces path with data through a temporary file, fsync
// and rename, then fsyncs the directory so the rename itself survives.
func writeDurable(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
