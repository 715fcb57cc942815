package files

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Quota bounds how many bytes one person adds (draft versions, received
// documents, attachments) in a rolling window, so that someone allowed to
// upload cannot fill the disk either: a refused upload is removed, an
// accepted one counts.
type Quota struct {
	// Bytes is the allowance per Window; 0 means no quota.
	Bytes int64
	// Window is the rolling period; 0 means 24 hours.
	Window time.Duration
	// Used reports what a person has added since a time (store's
	// UploadedBytes).
	Used func(ctx context.Context, userID string, since time.Time) (int64, error)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// DefaultQuota is the allowance per person per 24 hours when none is
// configured: ten uploads of the largest file the server takes.
const DefaultQuota = 2 << 30

func (q Quota) window() time.Duration {
	if q.Window <= 0 {
		return 24 * time.Hour
	}
	return q.Window
}

// QuotaExceeded refuses an upload past the person's allowance.
type QuotaExceeded struct {
	Limit  int64
	Used   int64
	Window time.Duration
}

func (e *QuotaExceeded) Error() string {
	return fmt.Sprintf("the upload quota of %s per %s is used up (%s uploaded); try again later or ask an administrator",
		FormatBytes(e.Limit), formatWindow(e.Window), FormatBytes(e.Used))
}

// FormatBytes writes a size the way people read it (1.5 GiB, 200 MiB).
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<30))) + " GiB"
	case n >= 1<<20:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<20))) + " MiB"
	case n >= 1<<10:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<10))) + " KiB"
	}
	return fmt.Sprintf("%d bytes", n)
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}

func formatWindow(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if d == 24*time.Hour {
			return "24 hours"
		}
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// Limit returns the file part r bounded by maxUpload and by what is left of
// userID's quota: reading past the first fails with *http.MaxBytesError,
// past the second with *QuotaExceeded, before the store has taken more
// than the bound. A quota already used up is refused at once, before
// anything is read.
func (s *Store) Limit(ctx context.Context, userID string, r io.Reader, maxUpload int64) (io.Reader, error) {
	q := s.Quota
	if q.Bytes <= 0 || q.Used == nil {
		return &capped{r: r, left: maxUpload, over: &http.MaxBytesError{Limit: maxUpload}}, nil
	}
	now := time.Now
	if q.Now != nil {
		now = q.Now
	}
	used, err := q.Used(ctx, userID, now().Add(-q.window()))
	if err != nil {
		return nil, err
	}
	left := q.Bytes - used
	exceeded := &QuotaExceeded{Limit: q.Bytes, Used: used, Window: q.window()}
	if left <= 0 {
		return nil, exceeded
	}
	if left < maxUpload {
		return &capped{r: r, left: left, over: exceeded}, nil
	}
	return &capped{r: r, left: maxUpload, over: &http.MaxBytesError{Limit: maxUpload}}, nil
}

// capped fails a reader longer than its bound with over.
type capped struct {
	r    io.Reader
	left int64
	over error
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte past the bound tells a file of exactly the bound from
		// a larger one.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, c.over
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
