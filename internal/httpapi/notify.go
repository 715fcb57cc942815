package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/notify"
	"vanban/internal/sse"
)

// Notifications is what the notification routes need of the store;
// *store.DB is one.
type Notifications interface {
	Notifications(ctx context.Context, userID string, limit int) ([]notify.Notification, error)
	MarkNotificationRead(ctx context.Context, userID, id string) error
	NotifyPreferences(ctx context.Context, userID string) ([]notify.Preference, error)
	SetNotifyPreference(ctx context.Context, p notify.Preference) error
}

func notifyRoutes() []route {
	return []route{
		{Method: "GET", Path: "/me/notifications", Summary: "My latest notices, newest first", Tag: "notifications", Response: "NotificationList", Handler: (*API).listNotifications},
		{Method: "POST", Path: "/me/notifications/:id/read", Summary: "Mark one of my notices read", Tag: "notifications", Status: 204, Handler: (*API).readNotification},
		{Method: "GET", Path: "/me/notifications/stream", Summary: "My notices as they happen (server-sent events, event \"notice\")", Tag: "notifications", Handler: (*API).notificationStream},
		{Method: "GET", Path: "/me/notification-preferences", Summary: "How I am told, per channel (page, email, chat)", Tag: "notifications", Response: "NotifyPreferenceList", Handler: (*API).getNotifyPreferences},
		{Method: "PUT", Path: "/me/notification-preferences", Summary: "Choose a channel's mode (instant, digest, off) and address", Tag: "notifications", Body: "NotifyPreference", Status: 204, Handler: (*API).setNotifyPreference},
	}
}

func init() {
	schemas["NotificationList"] = struct {
		Items []NotificationJSON `json:"items"`
	}{}
	schemas["NotifyPreference"] = NotifyPreferenceJSON{}
	schemas["NotifyPreferenceList"] = struct {
		Items []NotifyPreferenceJSON `json:"items"`
	}{}
}

// NotificationJSON is one notice.
type NotificationJSON struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	DocumentID string    `json:"document_id,omitempty"`
	Title      string    `json:"title"`
	Text       string    `json:"text"`
	Link       string    `json:"link"`
	CreatedAt  time.Time `json:"created_at"`
	Read       bool      `json:"read"`
}

// NotifyPreferenceJSON is a person's choice for one channel.
type NotifyPreferenceJSON struct {
	Channel string `json:"channel"`           // page, email or chat
	Mode    string `json:"mode"`              // instant, digest or off
	Address string `json:"address,omitempty"` // e-mail address or chat user id
}

func (api *API) notifications(c *gin.Context) (Notifications, bool) {
	if api.Oversight.Notifications == nil {
		api.unavailable(c)
		return nil, false
	}
	return api.Oversight.Notifications, true
}

func (api *API) listNotifications(c *gin.Context) {
	st, ok := api.notifications(c)
	if !ok {
		return
	}
	ns, err := st.Notifications(c.Request.Context(), current(c).user.ID, 50)
	if err != nil {
		api.fail(c, err)
		return
	}
	out := make([]NotificationJSON, len(ns))
	for i, n := range ns {
		out[i] = NotificationJSON{ID: n.ID, Kind: string(n.Kind), DocumentID: n.DocumentID, Title: n.Title, Text: n.Body,
			Link: n.Link, CreatedAt: n.CreatedAt, Read: !n.ReadAt.IsZero()}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (api *API) readNotification(c *gin.Context) {
	st, ok := api.notifications(c)
	if !ok {
		return
	}
	if err := st.MarkNotificationRead(c.Request.Context(), current(c).user.ID, c.Param("id")); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (api *API) getNotifyPreferences(c *gin.Context) {
	st, ok := api.notifications(c)
	if !ok {
		return
	}
	uid := current(c).user.ID
	stored, err := st.NotifyPreferences(c.Request.Context(), uid)
	if err != nil {
		api.fail(c, err)
		return
	}
	byChannel := map[string]notify.Preference{}
	for _, p := range stored {
		byChannel[p.Channel] = p
	}
	var out []NotifyPreferenceJSON
	for _, ch := range notify.Channels {
		p, ok := byChannel[ch]
		if !ok {
			p = notify.DefaultPreference(uid, ch)
		}
		out = append(out, NotifyPreferenceJSON{Channel: p.Channel, Mode: string(p.Mode), Address: p.Address})
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (api *API) setNotifyPreference(c *gin.Context) {
	st, ok := api.notifications(c)
	if !ok {
		return
	}
	var in NotifyPreferenceJSON
	if !bindJSON(c, &in) {
		return
	}
	p := notify.Preference{UserID: current(c).user.ID, Channel: in.Channel, Mode: notify.Mode(in.Mode), Address: in.Address}
	if err := p.Validate(); err != nil {
		invalid(c, map[string]string{"preference": err.Error()})
		return
	}
	if err := st.SetNotifyPreference(c.Request.Context(), p); err != nil {
		api.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// streamMaxAge bounds one stream.
const streamMaxAge = 30 * time.Minute

func (api *API) notificationStream(c *gin.Context) {
	hub := api.Oversight.Hub
	if hub == nil {
		api.unavailable(c)
		return
	}
	if !sse.Accepts(c.Request) {
		Problem(c, http.StatusNotAcceptable, "not-acceptable", "Cần text/event-stream / Not acceptable",
			"this is a server-sent event stream; send Accept: text/event-stream")
		return
	}
	notices, stop := hub.Subscribe(current(c).user.ID)
	defer stop()
	stream, err := sse.Start(c.Writer, 3*time.Second)
	if err != nil {
		return
	}
	tick := time.NewTicker(sse.KeepAlive)
	defer tick.Stop()
	// A stream lasts at most streamMaxAge; the page's EventSource then
	// reconnects (after the retry above), so no connection is held forever.
	ctx, cancel := context.WithTimeout(c.Request.Context(), streamMaxAge)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-notices:
			if stream.Event("notice", n) != nil {
				return
			}
		case <-tick.C:
			if stream.Comment("keep-alive") != nil {
				return
			}
		}
	}
}
