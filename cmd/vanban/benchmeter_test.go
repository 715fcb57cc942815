package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// latencies records how long each API call of a benchmark took, by route
// (method and path with the ids replaced by :id), as the client sees it.
type latencies struct {
	next http.RoundTripper
	mu   sync.Mutex
	by   map[string][]time.Duration
	// waits are the wall times of steps made of several calls (a
	// signature from the request to completed), not API latencies.
	waits map[string][]time.Duration
}

func newLatencies() *latencies {
	return &latencies{next: http.DefaultTransport, by: map[string][]time.Duration{}, waits: map[string][]time.Duration{}}
}

// add records the wall time of a step.
func (l *latencies) add(step string, d time.Duration) {
	l.mu.Lock()
	l.waits[step] = append(l.waits[step], d)
	l.mu.Unlock()
}

var idSegment = regexp.MustCompile(`/[0-9a-zA-Z_-]*[0-9][0-9a-zA-Z_-]{7,}`)

func (l *latencies) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := l.next.RoundTrip(r)
	d := time.Since(start)
	route := r.Method + " " + idSegment.ReplaceAllString(r.URL.Path, "/:id")
	l.mu.Lock()
	l.by[route] = append(l.by[route], d)
	l.mu.Unlock()
	return resp, err
}

// reset forgets what was recorded (the setup of a sub-benchmark).
func (l *latencies) reset() {
	l.mu.Lock()
	l.by, l.waits = map[string][]time.Duration{}, map[string][]time.Duration{}
	l.mu.Unlock()
}

// quantile is the q quantile of ds (sorted in place), nearest rank.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// report gives the p99 over every call, and logs p50/p99/count by route.
func (l *latencies) report(b *testing.B) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var all []time.Duration
	routes := make([]string, 0, len(l.by))
	for r, ds := range l.by {
		routes = append(routes, r)
		all = append(all, ds...)
	}
	sort.Strings(routes)
	var sb strings.Builder
	line := func(r string, ds []time.Duration) {
		fmt.Fprintf(&sb, "\n  %-48s n=%-5d p50=%-8s p99=%s", r, len(ds),
			quantile(ds, 0.5).Round(100*time.Microsecond), quantile(ds, 0.99).Round(100*time.Microsecond))
	}
	for _, r := range routes {
		line(r, l.by[r])
	}
	steps := make([]string, 0, len(l.waits))
	for st := range l.waits {
		steps = append(steps, st)
	}
	sort.Strings(steps)
	for _, st := range steps {
		line(st, l.waits[st])
	}
	p99 := quantile(all, 0.99)
	b.Logf("API latency (%d calls, p50 %s, p99 %s):%s", len(all), quantile(all, 0.5).Round(100*time.Microsecond),
		p99.Round(100*time.Microsecond), sb.String())
	return p99
}

// cpuMeter sums the CPU time of everything that works on an issued
// document: this process (server, simulator, TSA and the benchmark's
// clients), its MinIO child and the PostgreSQL backends of the test
// database.
type cpuMeter struct {
	db     *sql.DB
	dbName string
}

func newCPUMeter(b *testing.B, dbURL string) *cpuMeter {
	b.Helper()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	return &cpuMeter{db: db, dbName: strings.TrimPrefix(u.Path, "/")}
}

// auditSeq is the audit chain's last sequence number: one entry per state
// change, so the difference over a run counts the audited writes.
func (m *cpuMeter) auditSeq(b *testing.B) int64 {
	var seq int64
	if err := m.db.QueryRow(`SELECT seq FROM audit_head WHERE id = 1`).Scan(&seq); err != nil {
		b.Fatal(err)
	}
	return seq
}

// cpuSample is CPU time by part at one moment.
type cpuSample struct {
	self, minio time.Duration
	pg          map[int]time.Duration // by backend pid
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times on Linux.
const clockTick = 100

// procCPU is the user+system time of a process from /proc.
func procCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(data)
	// The command is in parentheses and may hold spaces: fields start
	// after the last ')'.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTick, true
}

func (m *cpuMeter) sample(b *testing.B) cpuSample {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Error(err) // called from the watching goroutine too: no Fatal
	}
	s := cpuSample{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), pg: map[int]time.Duration{}}
	// MinIO: a child of this process.
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, p := range strings.Fields(string(data)) {
			pid, _ := strconv.Atoi(p)
			comm, _ := os.ReadFile("/proc/" + p + "/comm")
			if strings.TrimSpace(string(comm)) == "minio" {
				if d, ok := procCPU(pid); ok {
					s.minio += d
				}
			}
		}
	}
	rows, err := m.db.Query(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, m.dbName)
	if err != nil {
		b.Error(err)
		return s
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Error(err)
			return s
		}
		if d, ok := procCPU(pid); ok {
			s.pg[pid] = d
		}
	}
	return s
}

// cpuUse is the CPU time spent between two samples, by part.
type cpuUse struct{ self, minio, pg time.Duration }

func (u cpuUse) total() time.Duration { return u.self + u.minio + u.pg }

// watch samples every 100 ms until the returned stop is called, which
// gives the CPU used meanwhile. The pool opens and closes connections: a
// backend that started counts from zero, one that ended counts up to its
// last sample (at most 100 ms of it is lost).
func (m *cpuMeter) watch(b *testing.B) (stop func() cpuUse) {
	first := m.sample(b)
	last := cpuSample{pg: map[int]time.Duration{}}
	var mu sync.Mutex
	merge := func(s cpuSample) {
		mu.Lock()
		defer mu.Unlock()
		last.self, last.minio = s.self, s.minio
		for pid, d := range s.pg {
			last.pg[pid] = d
		}
	}
	merge(first)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				merge(m.sample(b))
			}
		}
	}()
	return func() cpuUse {
		close(done)
		<-finished
		merge(m.sample(b))
		return since(first, last)
	}
}

// since is the CPU used from a to z; a backend not in a counts from zero.
func since(a, z cpuSample) cpuUse {
	u := cpuUse{self: z.self - a.self, minio: z.minio - a.minio}
	for pid, d := range z.pg {
		u.pg += d - a.pg[pid]
	}
	return u
}

// machineLoad is the 1-minute load average, to say how busy the machine
// was while a benchmark ran.
func machineLoad() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}
