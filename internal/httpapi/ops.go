// Package httpapi serves vanban over HTTP with gin: the operational
// endpoints (/healthz, /readyz, /metrics), and the REST API under /api/v1.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Check is one dependency that must answer for the server to be ready.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Report is a view a background worker gives of its work (the signing
// worker: the leases this node holds, the oldest poll due), shown by
// /readyz under "work". A report that fails is shown as its error and does
// not make the node unready: the checks decide that.
type Report struct {
	Name   string
	Report func(ctx context.Context) (any, error)
}

// Options configure the router.
type Options struct {
	Logger *slog.Logger
	// Checks run on every /readyz request.
	Checks []Check
	// Reports are added to every /readyz answer.
	Reports []Report
	// CheckTimeout bounds each check; default 2s.
	CheckTimeout time.Duration
	// Registry receives the HTTP metrics and is served at /metrics. Nil
	// means a new registry with the Go and process collectors.
	Registry *prometheus.Registry
	// Version is reported by /healthz.
	Version string
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For and X-Real-IP headers name the client
	// (VANBAN_TRUSTED_PROXIES); nil trusts none, so a client cannot pick
	// the address its sign-in failures are counted against.
	TrustedProxies []string
	// MetricsToken, when set, is the bearer token /metrics requires;
	// without it /metrics answers loopback clients only.
	MetricsToken string
	// MetricsElsewhere leaves /metrics off this router: a separate
	// listener (VANBAN_METRICS_ADDR) serves it.
	MetricsElsewhere bool
}

// NewRouter returns a gin engine with the middleware every route shares and
// the operational endpoints. Callers add their routes to it.
func NewRouter(opts Options) *gin.Engine {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 2 * time.Second
	}
	if opts.Registry == nil {
		opts.Registry = NewMetricsRegistry()
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(opts.TrustedProxies); err != nil {
		// config validated the list; an error here is a bug.
		panic("httpapi: trusted proxies: " + err.Error())
	}
	m := newHTTPMetrics(opts.Registry)
	// Recovery sits innermost so that the log and the metrics see the 500.
	r.Use(accessLog(opts.Logger), m.middleware(), recoverProblem(opts.Logger))
	r.NoRoute(func(c *gin.Context) {
		Problem(c, http.StatusNotFound, "not-found", "Không tìm thấy / Not found", "no route for "+c.Request.URL.Path)
	})
	r.NoMethod(func(c *gin.Context) {
		Problem(c, http.StatusMethodNotAllowed, "method-not-allowed", "Phương thức không được hỗ trợ / Method not allowed", c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})

	started := time.Now()
	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok", "version": opts.Version, "uptime_seconds": int(time.Since(started).Seconds())})
	})
	r.GET("/readyz", readyHandler(opts.Checks, opts.Reports, opts.CheckTimeout, opts.Logger))
	if !opts.MetricsElsewhere {
		r.GET("/metrics", gin.WrapH(MetricsHandler(opts.Registry, opts.MetricsToken, true)))
	}
	return r
}

// readyHandler runs every check concurrently and answers 503 with the
// failing checks' reasons when any fails. Nothing is cached: readiness must
// turn back to 200 as soon as the dependency returns.
func readyHandler(checks []Check, reports []Report, timeout time.Duration, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		type outcome struct {
			name string
			err  error
		}
		results := make([]outcome, len(checks))
		var wg sync.WaitGroup
		for i, ch := range checks {
			wg.Add(1)
			go func(i int, ch Check) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
				defer cancel()
				results[i] = outcome{ch.Name, ch.Ping(ctx)}
			}(i, ch)
		}
		wg.Wait()
		status := http.StatusOK
		body := map[string]string{}
		for _, r := range results {
			if r.err != nil {
				status = http.StatusServiceUnavailable
				body[r.name] = r.err.Error()
				log.Warn("readiness check failed", "check", r.name, "err", r.err)
			} else {
				body[r.name] = "ok"
			}
		}
		state := "ready"
		if status != http.StatusOK {
			state = "unavailable"
		}
		out := gin.H{"status": state, "checks": body}
		if len(reports) > 0 {
			work := map[string]any{}
			for _, r := range reports {
				ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
				v, err := r.Report(ctx)
				cancel()
				if err != nil {
					work[r.Name] = gin.H{"error": err.Error()}
					continue
				}
				work[r.Name] = v
			}
			out["work"] = work
		}
		c.JSON(status, out)
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vanban_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vanban_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vanban_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

func (m *httpMetrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		m.inflight.Inc()
		defer m.inflight.Dec()
		c.Next()
		// The route template, not the raw path, keeps label cardinality bounded.
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
	}
}

func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		if c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/metrics" {
			level = slog.LevelDebug
		}
		log.Log(c.Request.Context(), level, "http request",
			"method", c.Request.Method,
			"path", c.Request.URL.Path,
			"route", c.FullPath(),
			"status", c.Writer.Status(),
			"bytes", c.Writer.Size(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"client", c.ClientIP(),
		)
	}
}

// recoverProblem turns a panic into a logged 500 problem, so one bad request
// never takes the process down. A panic is always a bug: bad input must be
// answered with a 4xx before it gets here.
func recoverProblem(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				log.Error("panic serving request", "path", c.Request.URL.Path, "panic", rec)
				if !c.Writer.Written() {
					Problem(c, http.StatusInternalServerError, "internal", "Lỗi hệ thống / Internal error", "")
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}
