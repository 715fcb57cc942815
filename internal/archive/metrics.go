package archive

import (
	"sync"
	"time"
)

// Metrics are the archive's counters, read by cmd for /metrics.
type Metrics struct {
	mu               sync.Mutex
	Archived         int64
	ArchiveFailures  int64
	Renewed          int64
	RenewalFailures  int64
	RetentionRenewed int64
	// ArchiveSeconds is the total time spent archiving (Archived calls).
	ArchiveSeconds float64
}

func (m *Metrics) add(c *int64, n int64) {
	m.mu.Lock()
	*c += n
	m.mu.Unlock()
}

func (m *Metrics) observe(d time.Duration) {
	m.mu.Lock()
	m.ArchiveSeconds += d.Seconds()
	m.mu.Unlock()
}

// MetricsSnapshot is the value of the counters at one moment.
type MetricsSnapshot struct {
	Archived, ArchiveFailures, Renewed, RenewalFailures, RetentionRenewed int64
	ArchiveSeconds                                                        float64
}

// Snapshot returns the counters.
func (m *Metrics) Snapshot() MetricsSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return MetricsSnapshot{Archived: m.Archived, ArchiveFailures: m.ArchiveFailures, Renewed: m.Renewed,
		RenewalFailures: m.RenewalFailures, RetentionRenewed: m.RetentionRenewed, ArchiveSeconds: m.ArchiveSeconds}
}
