package smartcasim_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vanban/signing/smartca/smartcasim"
)

const user = "001088012345"

// simAt starts a simulator keeping its state in dir, with callbacks to cb.
func simAt(t *testing.T, dir, cb string) (*smartcasim.Server, *httptest.Server) {
	t.Helper()
	sim, err := smartcasim.NewServer(smartcasim.Options{SPID: "sp", SPPassword: "pw", StateDir: dir,
		CallbackURL: cb, CallbackSecret: "cb-secret"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	return sim, srv
}

type answer struct {
	StatusCode int    `json:"status_code"`
	Message    string `json:"message"`
	Data       struct {
		TransactionID string                  `json:"transaction_id"`
		TranStatus    string                  `json:"tran_status"`
		Signatures    []smartcasim.SignedFile `json:"signatures"`
	} `json:"data"`
}

func call(t *testing.T, srv *httptest.Server, path string, body map[string]any) answer {
	t.Helper()
	body["sp_id"], body["sp_password"] = "sp", "pw"
	b, _ := json.Marshal(body)
	resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a
}

func digests(n int, salt string) [][]byte {
	var out [][]byte
	for i := range n {
		d := sha256.Sum256(fmt.Appendf(nil, "%s document %d", salt, i))
		out = append(out, d[:])
	}
	return out
}

func signBody(txID string, ds [][]byte) map[string]any {
	var files []map[string]any
	for i, d := range ds {
		files = append(files, map[string]any{"data_to_be_signed": hex.EncodeToString(d), "doc_id": fmt.Sprintf("doc-%d", i),
			"file_type": "pdf", "sign_type": "hash"})
	}
	return map[string]any{"user_id": user, "transaction_id": txID, "transaction_desc": "Ký lô văn bản", "sign_files": files}
}

// TestStateOutlivesTheProcess: a batch waiting on the phone is still
// waiting after a restart, its confirmation after another restart is still
// reported with every signature by the user's same key, the counters say
// one request and one confirmation, and a sign call repeated with the
// transaction id is the same transaction while other data under it is
// refused.
func TestStateOutlivesTheProcess(t *testing.T) {
	dir := t.TempDir()
	sim, srv := simAt(t, dir, "")
	ds := digests(3, "a")
	if a := call(t, srv, "/v1/signatures/sign", signBody("vanban-tx-1", ds)); a.StatusCode != smartcasim.CodeOK {
		t.Fatalf("sign: %+v", a)
	}
	chain, err := sim.Certificates(user)
	if err != nil {
		t.Fatal(err)
	}
	sim.Close()
	srv.Close()

	sim, srv = simAt(t, dir, "")
	st, err := sim.State(user)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending == nil || st.Pending.TransactionID != "vanban-tx-1" || len(st.Pending.Documents) != 3 || st.Requests != 1 {
		t.Fatalf("phone after the restart: %+v", st)
	}
	if a := call(t, srv, "/v1/signatures/sign", signBody("vanban-tx-1", ds)); a.StatusCode != smartcasim.CodeOK || a.Data.TransactionID != "vanban-tx-1" {
		t.Fatalf("repeated sign: %+v", a)
	}
	if a := call(t, srv, "/v1/signatures/sign", signBody("vanban-tx-1", digests(3, "b"))); a.StatusCode != smartcasim.CodeTxReused {
		t.Fatalf("transaction id reused for other data: %+v", a)
	}
	if err := sim.Confirm(user); err != nil {
		t.Fatal(err)
	}
	sim.Close()
	srv.Close()

	sim, srv = simAt(t, dir, "")
	a := call(t, srv, "/v1/signatures/sign/vanban-tx-1/status", map[string]any{})
	if a.StatusCode != smartcasim.CodeOK || a.Data.TranStatus != smartcasim.TranSuccess || len(a.Data.Signatures) != 3 {
		t.Fatalf("status after the restart: %+v", a)
	}
	pub := chain[0].PublicKey.(*rsa.PublicKey)
	for i, sf := range a.Data.Signatures {
		sig, err := base64.StdEncoding.DecodeString(sf.SignatureValue)
		if err != nil {
			t.Fatal(err)
		}
		if sf.DocID != fmt.Sprintf("doc-%d", i) || rsa.VerifyPKCS1v15(pub, crypto.SHA256, ds[i], sig) != nil {
			t.Fatalf("signature %d does not verify with the user's certificate", i)
		}
	}
	again, err := sim.Certificates(user)
	if err != nil {
		t.Fatal(err)
	}
	if !again[0].Equal(chain[0]) {
		t.Fatal("the user got another certificate after the restart")
	}
	st, _ = sim.State(user)
	if st.Pending != nil || st.Requests != 1 || st.Confirmations != 1 {
		t.Fatalf("phone at the end: %+v", st)
	}
	if a := call(t, srv, "/v1/signatures/sign/unknown/status", map[string]any{}); a.StatusCode != smartcasim.CodeUnknownTx {
		t.Fatalf("unknown transaction: %+v", a)
	}
}

// TestUndeliveredCallbackIsSentAgain: a callback the service provider
// did not take before the simulator stopped is delivered by the next run.
func TestUndeliveredCallbackIsSentAgain(t *testing.T) {
	dir := t.TempDir()
	var accept atomic.Bool
	var mu sync.Mutex
	var got []string
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !accept.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var body struct {
			TransactionID string `json:"transaction_id"`
			TranStatus    string `json:"tran_status"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, body.TransactionID+" "+body.TranStatus)
		mu.Unlock()
	}))
	defer cb.Close()
	sim, srv := simAt(t, dir, cb.URL)
	if a := call(t, srv, "/v1/signatures/sign", signBody("vanban-tx-2", digests(2, "c"))); a.StatusCode != smartcasim.CodeOK {
		t.Fatalf("sign: %+v", a)
	}
	if err := sim.Reject(user); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a refused attempt or two
	sim.Close()
	srv.Close()

	accept.Store(true)
	sim, _ = simAt(t, dir, cb.URL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the undelivered callback was not sent again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	sim.Close()
	// Delivered now: a third run sends nothing.
	sim, _ = simAt(t, dir, cb.URL)
	time.Sleep(300 * time.Millisecond)
	sim.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "vanban-tx-2 REJECTED" {
		t.Fatalf("callbacks: %q", got)
	}
}

// TestDamagedStateFileIgnored: a file in the state directory that is not
// a transaction written by the simulator is not served.
func TestDamagedStateFileIgnored(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tx"), 0o700); err != nil {
		t.Fatal(err)
	}
	forged := `{"transaction_id":"forged","user_id":"001088012345","tran_status":"SUCCESS"}`
	if err := os.WriteFile(filepath.Join(dir, "tx", "0000.json"), []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tx", "torn.json"), []byte(`{"transaction_id":`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, srv := simAt(t, dir, "")
	if a := call(t, srv, "/v1/signatures/sign/forged/status", map[string]any{}); a.StatusCode != smartcasim.CodeUnknownTx {
		t.Fatalf("a misnamed file was served: %+v", a)
	}
}
