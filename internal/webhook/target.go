package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vanban/internal/document"
)

// Targets decides which addresses webhooks may reach. By default only
// public unicast addresses: an administrator registering an endpoint must
// not be able to make the server talk to itself (127.0.0.1, localhost,
// [::1]), to the intranet, or to a cloud metadata service
// (169.254.169.254, fd00:ec2::254). The check runs at registration, and
// again at every connection (net.Dialer.Control sees the address actually
// dialled), so a name that resolves to a public address at registration
// and to 127.0.0.1 later (DNS rebinding) is still refused.
//
// Allowed lists the exceptions an operator configures for intranet
// receivers (VANBAN_WEBHOOK_ALLOW): address prefixes, and host names whose
// connections skip the address check. The zero value (and nil) allows no
// exception.
type Targets struct {
	Prefixes []netip.Prefix
	Hosts    []string // lower case, no port
}

// ParseTargets reads an allow-list: CIDRs, single addresses and host names
// separated by commas or spaces ("10.20.0.0/16 hook.intranet.gov.vn").
func ParseTargets(spec string) (*Targets, error) {
	t := &Targets{}
	for _, f := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			t.Prefixes = append(t.Prefixes, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			t.Prefixes = append(t.Prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		h := strings.ToLower(strings.TrimSuffix(f, "."))
		if !validHostName(h) {
			return nil, fmt.Errorf("%q is not a CIDR, an address or a host name", f)
		}
		t.Hosts = append(t.Hosts, h)
	}
	return t, nil
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// ErrForbiddenTarget means the address is not one webhooks may reach.
var ErrForbiddenTarget = errors.New("webhook target not allowed")

// blockedPrefixes are special-purpose ranges beyond what netip's
// predicates cover (RFC 6890 and friends).
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),      // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),       // documentation
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"),    // documentation
	netip.MustParsePrefix("203.0.113.0/24"),     // documentation
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),       // NAT64: an IPv4 address in disguise
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64
	netip.MustParsePrefix("100::/64"),           // discard
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata (also in fc00::/7)
	netip.MustParsePrefix("169.254.169.254/32"), // cloud metadata (also link-local)
}

// Allows tells whether webhooks may connect to a.
func (t *Targets) Allows(a netip.Addr) bool {
	a = a.Unmap()
	if t != nil {
		for _, p := range t.Prefixes {
			if p.Contains(a) {
				return true
			}
		}
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	if a.Is6() && a.Zone() != "" {
		return false
	}
	// 6to4 (2002::/16) carries an IPv4 address in bits 16-48.
	if a.Is6() {
		b := a.As16()
		if b[0] == 0x20 && b[1] == 0x02 {
			return t.Allows(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func (t *Targets) allowsHost(host string) bool {
	if t == nil {
		return false
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range t.Hosts {
		if h == host {
			return true
		}
	}
	return false
}

// legacyIPv4 decodes the forms of an IPv4 address that inet_aton accepts
// but netip does not: a single integer (2130706433), octal (0177.0.0.1),
// hexadecimal (0x7f.1) and fewer than four parts (127.1). C resolvers and
// other tools read them as addresses; we refuse them at registration so
// that a URL means the same to everyone.
func legacyIPv4(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		if p == "" {
			return netip.Addr{}, false
		}
		base := 10
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			base, p = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil && p != "" {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	last := len(vals) - 1
	for i, v := range vals[:last] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*uint(i))
	}
	if vals[last] >= 1<<(32-8*uint(last)) {
		return netip.Addr{}, false
	}
	n |= vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// CheckTarget is the registration check of an endpoint URL: CheckURL, and
// EINVALID when the host is an address webhooks may not reach, a legacy
// numeric form of one, "localhost", or a name that resolves to such an
// address now. A name that does not resolve now is accepted: the delivery
// check decides at each connection.
func (t *Targets) CheckTarget(ctx context.Context, raw string, r *net.Resolver) error {
	if err := CheckURL(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	refuse := func(what string) error {
		return document.Errorf(document.EINVALID, "webhook URL %s: %s is loopback, private, link-local or otherwise internal; webhooks reach public addresses only unless VANBAN_WEBHOOK_ALLOW lists it", u.Redacted(), what)
	}
	if t.allowsHost(host) {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !t.Allows(a) {
			return refuse(a.String())
		}
		return nil
	}
	if a, ok := legacyIPv4(host); ok {
		return document.Errorf(document.EINVALID, "webhook URL %s: write the address %s in dotted decimal", u.Redacted(), a)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return refuse(host)
	}
	if r == nil {
		r = net.DefaultResolver
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if !t.Allows(a) {
			return refuse(host + " (" + a.Unmap().String() + ")")
		}
	}
	return nil
}

// Client returns the HTTP client deliveries go through: no redirects (a
// redirect would carry a signed payload to a URL nobody registered), no
// proxy from the environment (the proxy's address is not the target's),
// and every connection's address checked by Allows when it is made.
func (t *Targets) Client() *http.Client {
	check := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrForbiddenTarget, address)
		}
		if !t.Allows(ap.Addr()) {
			return fmt.Errorf("%w: %s", ErrForbiddenTarget, ap.Addr().Unmap())
		}
		return nil
	}}
	plain := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			if t.allowsHost(host) {
				return plain.DialContext(ctx, network, addr)
			}
			return check.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  30 * time.Second,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
