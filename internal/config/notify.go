package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Notify is how people are told that something awaits them outside the
// page: the office's mail server and a chat connector. Empty addresses turn
// a channel off.
type Notify struct {
	SMTPAddr     string // host:port
	SMTPFrom     string
	SMTPUsername string
	SMTPPassword string
	SMTPTLS      string // starttls, tls or none
	ChatURL      string // https:// endpoint of template messages
	ChatToken    string
	ChatTemplate string
	DigestHour   int // hour of the day (Vietnam time) daily digests go out
}

func init() {
	Settings = append(Settings,
		Setting{Env: "VANBAN_SMTP_ADDR", Flag: "smtp-addr", Usage: "mail server (host:port) for notices by e-mail; empty: no e-mail"},
		Setting{Env: "VANBAN_SMTP_FROM", Flag: "smtp-from", Usage: "sender address of the e-mail notices, e.g. vanban@tayninh.gov.vn"},
		Setting{Env: "VANBAN_SMTP_USERNAME", Flag: "smtp-username", Usage: "SMTP user for AUTH PLAIN (only over TLS); empty: no authentication"},
		Setting{Env: "VANBAN_SMTP_PASSWORD", Flag: "smtp-password", Usage: "SMTP password (also VANBAN_SMTP_PASSWORD_FILE)", Secret: true},
		Setting{Env: "VANBAN_SMTP_TLS", Flag: "smtp-tls", Default: "starttls", Usage: "starttls (upgrade when offered; required with a password), tls (port 465) or none"},
		Setting{Env: "VANBAN_CHAT_URL", Flag: "chat-url", Usage: "https:// endpoint of the chat connector's template messages (Zalo Official Account style); empty: no chat"},
		Setting{Env: "VANBAN_CHAT_TOKEN", Flag: "chat-token", Usage: "access token of the chat connector, sent as the access_token header (also VANBAN_CHAT_TOKEN_FILE)", Secret: true},
		Setting{Env: "VANBAN_CHAT_TEMPLATE", Flag: "chat-template", Usage: "template id of the chat connector's notice message"},
		Setting{Env: "VANBAN_DIGEST_HOUR", Flag: "digest-hour", Default: "7", Usage: "hour of the day (Vietnam time, 1-23) the daily digests go out"},
	)
}

// loadNotify reads the notification settings through str.
func (c *Config) loadNotify(str func(env, def string) string) []error {
	var errs []error
	n := &c.Notify
	n.SMTPAddr = str("VANBAN_SMTP_ADDR", "")
	n.SMTPFrom = str("VANBAN_SMTP_FROM", "")
	n.SMTPUsername = str("VANBAN_SMTP_USERNAME", "")
	n.SMTPPassword = str("VANBAN_SMTP_PASSWORD", "")
	n.SMTPTLS = str("VANBAN_SMTP_TLS", "starttls")
	if n.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(n.SMTPAddr); err != nil {
			errs = append(errs, &Error{Setting: "VANBAN_SMTP_ADDR", Value: n.SMTPAddr, Reason: "want host:port"})
		}
		if at := strings.LastIndexByte(n.SMTPFrom, '@'); at <= 0 || at == len(n.SMTPFrom)-1 || strings.ContainsAny(n.SMTPFrom, " <>\r\n") {
			errs = append(errs, &Error{Setting: "VANBAN_SMTP_FROM", Value: n.SMTPFrom, Reason: "e-mail notices need a sender address name@domain"})
		}
	}
	if !oneOf(n.SMTPTLS, "starttls", "tls", "none") {
		errs = append(errs, &Error{Setting: "VANBAN_SMTP_TLS", Value: n.SMTPTLS, Reason: "want starttls, tls or none"})
	}
	if n.SMTPPassword != "" && n.SMTPTLS == "none" {
		errs = append(errs, &Error{Setting: "VANBAN_SMTP_TLS", Value: n.SMTPTLS, Reason: "a password is never sent without TLS"})
	}
	n.ChatURL = str("VANBAN_CHAT_URL", "")
	n.ChatToken = str("VANBAN_CHAT_TOKEN", "")
	n.ChatTemplate = str("VANBAN_CHAT_TEMPLATE", "")
	if n.ChatURL != "" {
		if u, err := url.Parse(n.ChatURL); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, &Error{Setting: "VANBAN_CHAT_URL", Value: n.ChatURL, Reason: "want an https:// URL"})
		}
		if n.ChatToken == "" || n.ChatTemplate == "" {
			errs = append(errs, &Error{Setting: "VANBAN_CHAT_TOKEN", Reason: "the chat connector needs VANBAN_CHAT_TOKEN and VANBAN_CHAT_TEMPLATE"})
		}
	}
	h := str("VANBAN_DIGEST_HOUR", "7")
	hour, err := strconv.Atoi(h)
	if err != nil || hour < 1 || hour > 23 {
		errs = append(errs, &Error{Setting: "VANBAN_DIGEST_HOUR", Value: h, Reason: "want an hour from 1 to 23"})
	}
	n.DigestHour = hour
	return errs
}
