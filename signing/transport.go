package signing

import (
	"net"
	"net/url"
)

// CheckTransport refuses a remote provider URL that would send credentials
// and signatures in the clear: https always, plain http only to this
// machine (simulators, tests). Errors are KindBadRequest.
func CheckTransport(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return &Error{Kind: KindBadRequest, Message: "refusing plain http to " + host + ": credentials and signatures need https"}
	}
	return &Error{Kind: KindBadRequest, Message: "service URL scheme " + u.Scheme + " is not https"}
}
