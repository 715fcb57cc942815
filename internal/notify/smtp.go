package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// SMTPConfig is how to reach the office's mail server.
type SMTPConfig struct {
	Addr     string // host:port
	From     string // the sender's address, e.g. vanban@tayninh.gov.vn
	Username string // empty: no authentication
	Password string
	// TLS is "starttls" (upgrade when offered; required with a password),
	// "tls" (implicit TLS, port 465) or "none".
	TLS string
	// RootCAs and ServerName verify the server; nil means the system pool.
	TLSConfig *tls.Config
}

// SMTP is the e-mail channel over net/smtp.
type SMTP struct{ cfg SMTPConfig }

var _ Channel = (*SMTP)(nil)

// NewSMTP checks cfg and returns the channel.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("notify: SMTP address %q is not host:port", cfg.Addr)
	}
	if !validEmail(cfg.From) {
		return nil, fmt.Errorf("notify: SMTP sender %q is not name@domain", cfg.From)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = "starttls"
	case "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("notify: SMTP TLS mode %q is not starttls, tls or none", cfg.TLS)
	}
	return &SMTP{cfg: cfg}, nil
}

// Send writes one message to address.
func (s *SMTP) Send(ctx context.Context, address string, m Message) error {
	if !validEmail(address) {
		return fmt.Errorf("notify: e-mail address %q is not name@domain", address)
	}
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	tlsCfg := s.cfg.TLSConfig.Clone()
	if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	d := net.Dialer{Timeout: 15 * time.Second}
	var conn net.Conn
	var err error
	if s.cfg.TLS == "tls" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsCfg}).DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return fmt.Errorf("notify: SMTP dial: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("notify: SMTP greeting: %w", err)
	}
	defer c.Close()
	if s.cfg.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return fmt.Errorf("notify: SMTP STARTTLS: %w", err)
			}
		} else if s.cfg.Username != "" {
			return errors.New("notify: SMTP server does not offer STARTTLS; refusing to send the password in clear")
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host)); err != nil {
			return fmt.Errorf("notify: SMTP auth: %w", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return fmt.Errorf("notify: SMTP MAIL FROM: %w", err)
	}
	if err := c.Rcpt(address); err != nil {
		return fmt.Errorf("notify: SMTP RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("notify: SMTP DATA: %w", err)
	}
	if _, err := w.Write(s.render(address, m)); err != nil {
		return fmt.Errorf("notify: SMTP write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("notify: SMTP end of data: %w", err)
	}
	return c.Quit()
}

// render writes the message as RFC 5322 plain text in UTF-8
// (base64 body, RFC 2047 subject).
func (s *SMTP) render(to string, m Message) []byte {
	var body strings.Builder
	if m.Text != "" {
		body.WriteString(m.Text + "\r\n\r\n")
	}
	if len(m.Items) > 1 || m.Text == "" {
		for _, it := range m.Items {
			body.WriteString("- " + it.Title)
			if it.Text != "" {
				body.WriteString(": " + it.Text)
			}
			body.WriteString("\r\n  " + it.Link + "\r\n")
		}
		body.WriteString("\r\n")
	}
	body.WriteString("Mở vanban: " + m.Link + "\r\n")
	var b bytes.Buffer
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	domain := s.cfg.From[strings.LastIndexByte(s.cfg.From, '@')+1:]
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n",
		s.cfg.From, to, mime.QEncoding.Encode("utf-8", oneLine(m.Subject)), time.Now().Format(time.RFC1123Z), hex.EncodeToString(id), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(body.String()))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

// oneLine keeps a header value on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
