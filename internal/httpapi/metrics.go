package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewMetricsRegistry returns a registry with the Go and process collectors,
// for NewRouter and for a separate metrics listener to share.
func NewMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// MetricsHandler serves reg to whoever presents token as a bearer token;
// with an empty token, to loopback clients only when loopbackOnly, else to
// anyone (a separate metrics listener the operator firewalls). The metrics
// name routes, error rates and the process's memory: an inventory for an
// attacker, so the public listener never serves them to strangers.
func MetricsHandler(reg *prometheus.Registry, token string, loopbackOnly bool) http.Handler {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case token != "":
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				http.Error(w, "metrics need the bearer token (VANBAN_METRICS_TOKEN)", http.StatusUnauthorized)
				return
			}
		case loopbackOnly && !loopbackClient(r):
			http.Error(w, "metrics are served to loopback clients only; set VANBAN_METRICS_TOKEN or VANBAN_METRICS_ADDR", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackClient tells whether the connection itself comes from loopback;
// forwarding headers are not consulted (a reverse proxy on the same host
// would make every client look local, which is why the token exists).
func loopbackClient(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
