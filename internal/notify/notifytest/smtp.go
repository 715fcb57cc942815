// Package notifytest has a small SMTP server for tests: it listens on
// loopback, speaks enough of RFC 5321 for net/smtp (EHLO, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT) and hands every message it accepts to the test.
package notifytest

import (
	"bufio"
	"encoding/base64"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is one message the server accepted.
type Mail struct {
	From    string
	To      []string
	Subject string // decoded
	Body    string // decoded
	Raw     string
}

// SMTPServer is a running test server.
type SMTPServer struct {
	Addr string
	// Mails receives every accepted message.
	Mails chan Mail

	ln       net.Listener
	mu       sync.Mutex
	failNext int // answer 451 to this many DATA commands
	wg       sync.WaitGroup
}

// StartSMTP starts a server on 127.0.0.1, stopped when the test ends.
func StartSMTP(tb testing.TB) *SMTPServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("notifytest: listen: %v", err)
	}
	s := &SMTPServer{Addr: ln.Addr().String(), Mails: make(chan Mail, 100), ln: ln}
	s.wg.Add(1)
	go s.serve()
	tb.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// FailNext makes the next n messages fail with a temporary error (451).
func (s *SMTPServer) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

func (s *SMTPServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.session(c)
		}()
	}
}

func (s *SMTPServer) session(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	reply := func(line string) { io.WriteString(c, line+"\r\n") }
	reply("220 localhost vanban test SMTP")
	var m Mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(verb, "EHLO"):
			reply("250-localhost")
			reply("250-8BITMIME")
			reply("250 SMTPUTF8")
		case strings.HasPrefix(verb, "HELO"):
			reply("250 localhost")
		case strings.HasPrefix(verb, "MAIL FROM:"):
			m = Mail{From: addr(line[len("MAIL FROM:"):])}
			reply("250 OK")
		case strings.HasPrefix(verb, "RCPT TO:"):
			m.To = append(m.To, addr(line[len("RCPT TO:"):]))
			reply("250 OK")
		case verb == "DATA":
			reply("354 end with <CRLF>.<CRLF>")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			fail := s.failNext > 0
			if fail {
				s.failNext--
			}
			s.mu.Unlock()
			if fail {
				reply("451 4.3.0 try again later")
				continue
			}
			m.Raw = data.String()
			m.Subject, m.Body = decode(m.Raw)
			s.Mails <- m
			reply("250 OK queued")
		case verb == "RSET":
			m = Mail{}
			reply("250 OK")
		case verb == "NOOP":
			reply("250 OK")
		case verb == "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 command not implemented")
		}
	}
}

func addr(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	return strings.Trim(s, "<>")
}

// decode returns the subject and the body of a message as our SMTP channel
// writes it (RFC 2047 subject, base64 or plain body).
func decode(raw string) (subject, body string) {
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return "", raw
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	b, _ := io.ReadAll(msg.Body)
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "base64") {
		if d, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b))); err == nil {
			b = d
		}
	}
	return subject, string(b)
}
