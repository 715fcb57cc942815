package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanban/exchange"
	"vanban/exchange/hubclient"
)

func TestEdxmlBuildAndParse(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p.edxml")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"edxml", "build", "--pdf", "demo-quyet-dinh.pdf", "--from", "000.00.12.H40", "--from-name", "UBND xã Thành Long",
		"--to", "000.00.13.H40,000.00.14.H40", "--number", "05", "--notation", "QĐ-UBND", "--date", "2026-12-03", "--subject", "Về việc thành lập tổ công tác",
		"--signer", "Nguyễn Văn Long", "--position", "Chủ tịch", "--competence", "TM.", "--attach", "main.go", "--out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("build exit %d: %s", code, stderr.String())
	}
	stdout.Reset()
	extract := filepath.Join(dir, "x")
	if code := run(context.Background(), []string{"edxml", "parse", out, "--extract", extract}, &stdout, &stderr); code != 0 {
		t.Fatalf("parse exit %d: %s", code, stderr.String())
	}
	var got struct {
		Kind   string `json:"kind"`
		Header struct {
			MessageHeader struct {
				DocumentId string `json:"documentId"`
				To         []struct{ OrganId string }
				Subject    string `json:"subject"`
			} `json:"messageHeader"`
		} `json:"header"`
		Attachments []struct {
			AttachmentName string `json:"attachmentName"`
			Size           int64  `json:"size"`
			SHA256         string `json:"sha256"`
			File           string `json:"file"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	pdf, _ := os.ReadFile("demo-quyet-dinh.pdf")
	sum := sha256.Sum256(pdf)
	m := got.Header.MessageHeader
	if got.Kind != "package" || m.DocumentId != "000.00.12.H40,2026/12/03,05/QĐ-UBND" || len(m.To) != 2 || m.Subject != "Về việc thành lập tổ công tác" {
		t.Errorf("parsed %s", stdout.String())
	}
	if len(got.Attachments) != 2 || got.Attachments[0].SHA256 != hex.EncodeToString(sum[:]) || got.Attachments[0].Size != int64(len(pdf)) || got.Attachments[1].AttachmentName != "main.go" {
		t.Fatalf("attachments %+v", got.Attachments)
	}
	if b, _ := os.ReadFile(got.Attachments[0].File); !bytes.Equal(b, pdf) {
		t.Error("extracted PDF differs")
	}

	// A malformed package: non-zero exit, the reason on stderr, nothing on stdout.
	bad := filepath.Join(dir, "bad.edxml")
	data, _ := os.ReadFile(out)
	os.WriteFile(bad, bytes.Replace(data, []byte("000.00.13.H40"), []byte("xa-binh-xa"), 1), 0o600)
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"edxml", "parse", bad}, &stdout, &stderr); code == 0 || stdout.Len() != 0 ||
		!strings.Contains(stderr.String(), "MessageHeader/To/OrganId") || !strings.Contains(stderr.String(), "xa-binh-xa") {
		t.Errorf("malformed: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestExchangeHubCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.secret"), []byte("secret-b\n"), 0o600)
	cfg := filepath.Join(dir, "hub.json")
	os.WriteFile(cfg, []byte(`{"systems":[{"id":"a","secret":"secret-a","organs":["000.00.12.H40"]},{"id":"b","secretFile":"b.secret","organs":["000.00.13.H40"]}],
		"agencies":[{"organId":"000.00.12.H40","name":"UBND xã Thành Long"}]}`), 0o600)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var stdout, stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"exchange-hub", "--addr", addr, "--data-dir", filepath.Join(dir, "data"), "--config", cfg}, &stdout, &stderr)
	}()
	c := hubclient.New("http://"+addr, "b", "secret-b", &http.Client{Timeout: 2 * time.Second})
	var ags []exchange.Agency
	var err error
	for i := 0; i < 100; i++ {
		if ags, err = c.Agencies(ctx); err == nil {
			break
		}
		time.Sleep(30 * time.Millisecond)
	}
	if err != nil || len(ags) != 2 || ags[0].Name != "UBND xã Thành Long" {
		t.Fatalf("agencies %+v %v (%s)", ags, err, stderr.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), []string{"exchange-hub", "--data-dir", dir}, &stdout, &stderr); code == 0 {
		t.Error("started without --config")
	}
}
