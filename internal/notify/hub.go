package notify

import (
	"context"
	"sync"
	"time"
)

// Notice is what the open page shows at once.
type Notice struct {
	Title string    `json:"title"`
	Text  string    `json:"text"`
	Link  string    `json:"link"`
	At    time.Time `json:"at"`
}

// Hub is the page channel: it hands notices to the server-sent event
// streams a person has open in this process. A person with no page open
// still finds the notice in their list; a slow stream drops notices rather
// than hold up the others.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan Notice]struct{}
	now  func() time.Time
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[chan Notice]struct{}{}, now: time.Now} }

var _ Channel = (*Hub)(nil)

// subscriberBuffer is how many notices wait for a slow stream.
const subscriberBuffer = 16

// Subscribe opens a stream for userID; call the returned function to close it.
func (h *Hub) Subscribe(userID string) (<-chan Notice, func()) {
	c := make(chan Notice, subscriberBuffer)
	h.mu.Lock()
	if h.subs[userID] == nil {
		h.subs[userID] = map[chan Notice]struct{}{}
	}
	h.subs[userID][c] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[userID], c)
			if len(h.subs[userID]) == 0 {
				delete(h.subs, userID)
			}
			h.mu.Unlock()
		})
	}
}

// Send hands each item of m to every open stream of the person whose id is
// address. It never fails: the notice is in the person's list anyway.
func (h *Hub) Send(_ context.Context, address string, m Message) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.subs[address] {
		for _, it := range m.Items {
			select {
			case c <- Notice{Title: it.Title, Text: it.Text, Link: it.Link, At: h.now().UTC()}:
			default:
			}
		}
	}
	return nil
}

// Listening reports whether userID has a stream open in this process.
func (h *Hub) Listening(userID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[userID]) > 0
}
