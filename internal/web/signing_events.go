package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
	"vanban/internal/sse"
)

// How the signing page's event stream follows a session. The stream reads
// the session again every sessionRecheck (one primary-key read; the worker
// that changes it may run on another node, so the database is the one
// place every change shows) and sends a "status" event only when what the
// page shows changed. The browser thus learns of the phone's answer within
// a quarter of a second without asking, and an idle page costs the server
// a read, not a request.
const (
	sessionRecheck   = 250 * time.Millisecond
	sessionStreamAge = 10 * time.Minute
)

// signingEvents streams a signing session's status as server-sent events
// until the session ends (after which the page has nothing more to learn).
func (s *Server) signingEvents(c *gin.Context) {
	if s.opt.Signing == nil {
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": "signing-unavailable"})
		return
	}
	if !sse.Accepts(c.Request) {
		c.AbortWithStatusJSON(http.StatusNotAcceptable, gin.H{"error": "not-acceptable"})
		return
	}
	a, id := actor(c), c.Param("sid")
	// Authorization first, on every read below too: a session taken away
	// from this person (or a password change ending the login) ends the
	// stream.
	sess, err := s.opt.Signing.Get(c.Request.Context(), a, id)
	if err != nil {
		status, _, _ := s.failure(c, err)
		c.AbortWithStatusJSON(status, gin.H{"error": document.ErrorCode(err)})
		return
	}
	stream, err := sse.Start(c.Writer, 2*time.Second)
	if err != nil {
		return
	}
	last := s.sessionStatus(c, sess)
	if stream.Event("status", last) != nil || last.Done {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), sessionStreamAge)
	defer cancel()
	recheck := time.NewTicker(sessionRecheck)
	defer recheck.Stop()
	idle := time.NewTicker(sse.KeepAlive)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
			if stream.Comment("keep-alive") != nil {
				return
			}
		case <-recheck.C:
			sess, err := s.opt.Signing.Get(ctx, a, id)
			if err != nil {
				return
			}
			now := s.sessionStatus(c, sess)
			if now == last {
				continue
			}
			last = now
			if stream.Event("status", now) != nil || now.Done {
				return
			}
		}
	}
}
