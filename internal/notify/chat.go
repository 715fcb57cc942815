package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ChatConfig is a chat connector in the style of a Zalo Official Account:
// the office registers a message template with the platform and sends
// notices as template data to the user's chat id.
type ChatConfig struct {
	URL         string // HTTPS endpoint the template messages are posted to
	AccessToken string // sent as the access_token header
	TemplateID  string
	Client      *http.Client // nil: a client with a 15 s timeout
}

// Chat is the chat channel.
type Chat struct{ cfg ChatConfig }

var _ Channel = (*Chat)(nil)

// NewChat checks cfg and returns the channel. The endpoint must be HTTPS.
func NewChat(cfg ChatConfig) (*Chat, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("notify: chat URL %q is not an https:// URL", cfg.URL)
	}
	if cfg.AccessToken == "" || cfg.TemplateID == "" {
		return nil, fmt.Errorf("notify: the chat connector needs an access token and a template id")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	return &Chat{cfg: cfg}, nil
}

// chatRequest is the body posted for one message.
type chatRequest struct {
	Recipient struct {
		UserID string `json:"user_id"`
	} `json:"recipient"`
	TemplateID   string            `json:"template_id"`
	TemplateData map[string]string `json:"template_data"`
	TrackingID   string            `json:"tracking_id"`
}

// chatResponse is the platform's answer: error 0 is success.
type chatResponse struct {
	Error   *int   `json:"error"`
	Message string `json:"message"`
}

// Send posts m to the chat user address.
func (c *Chat) Send(ctx context.Context, address string, m Message) error {
	if !validChatID(address) {
		return fmt.Errorf("notify: chat user id %q is malformed", address)
	}
	var req chatRequest
	req.Recipient.UserID = address
	req.TemplateID = c.cfg.TemplateID
	var lines []string
	for _, it := range m.Items {
		lines = append(lines, it.Title)
	}
	req.TemplateData = map[string]string{"title": m.Subject, "content": m.Text, "items": strings.Join(lines, "\n"), "link": m.Link}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	req.TrackingID = hex.EncodeToString(id)
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("access_token", c.cfg.AccessToken)
	resp, err := c.cfg.Client.Do(hr)
	if err != nil {
		return fmt.Errorf("notify: chat post: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify: chat answered %s: %.200s", resp.Status, b)
	}
	var out chatResponse
	if err := json.Unmarshal(b, &out); err != nil || out.Error == nil {
		return fmt.Errorf("notify: chat answer is not {error, message}: %.200s", b)
	}
	if *out.Error != 0 {
		return fmt.Errorf("notify: chat error %d: %.200s", *out.Error, out.Message)
	}
	return nil
}
