package web

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/auth"
	"vanban/internal/lookup"
)

// lookupFloor is the least time a lookup answer takes, found or not, so
// that the answer's timing tells nothing about the code.
const lookupFloor = 400 * time.Millisecond

func init() {
	pageTexts(func() map[string][2]string {
		return map[string][2]string{
			"lookup.title":      {"Tra cứu hồ sơ", "Dossier lookup"},
			"lookup.intro":      {"Nhập mã hồ sơ trên giấy biên nhận và ngày nộp hồ sơ để xem tiến độ giải quyết.", "Enter the dossier code on your receipt and the day you filed it to see how it is progressing."},
			"lookup.code":       {"Mã hồ sơ", "Dossier code"},
			"lookup.filed":      {"Ngày nộp hồ sơ", "Filing day"},
			"lookup.go":         {"Tra cứu", "Look up"},
			"lookup.none":       {"Không tìm thấy hồ sơ với mã và ngày nộp này. Vui lòng kiểm tra lại giấy biên nhận.", "No dossier with this code and filing day. Please check your receipt."},
			"lookup.toomany":    {"Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau ít phút.", "Too many lookups. Please try again in a few minutes."},
			"lookup.org":        {"Cơ quan tiếp nhận", "Receiving office"},
			"lookup.unit":       {"Đơn vị đang xử lý", "Handling unit"},
			"lookup.received":   {"Ngày tiếp nhận", "Received"},
			"lookup.deadline":   {"Hạn giải quyết", "Deadline"},
			"lookup.state":      {"Tình trạng", "Status"},
			"lookup.done":       {"Đã giải quyết", "Completed"},
			"lookup.open":       {"Đang giải quyết", "In progress"},
			"lookup.late":       {"Quá hạn", "Late"},
			"lookup.ontime":     {"Trong hạn", "On time"},
			"lookup.steps":      {"Các bước xử lý", "Processing steps"},
			"lookup.again":      {"Tra cứu hồ sơ khác", "Look up another dossier"},
			"lookup.nodeadline": {"Chưa có", "Not set"},
		}
	})
}

// lookupPage is the public form.
func (s *Server) lookupPage(c *gin.Context) {
	s.render(c, http.StatusOK, "lookup", map[string]any{})
}

// lookupAnswer looks the dossier up: rate-limited per client address and
// overall, padded to lookupFloor, and the same page for every miss.
func (s *Server) lookupAnswer(c *gin.Context) {
	start := time.Now()
	svc := s.opt.Oversight.Lookup
	if svc == nil {
		s.errorPage(c, http.StatusServiceUnavailable, s.lang(c).T("err.internal"), "the lookup is not configured")
		return
	}
	l := s.lang(c)
	code, filed := c.PostForm("code"), c.PostForm("filed_on")
	form := map[string]any{"Code": code, "Filed": filed}
	if len(code) > 200 || len(filed) > 40 {
		code, filed = "", ""
	}
	if ok, wait := s.opt.Oversight.Limits.take(clientNet(c.ClientIP())); !ok {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		form["Error"] = l.T("lookup.toomany")
		pad(start)
		s.render(c, http.StatusTooManyRequests, "lookup", form)
		return
	}
	st, err := svc.Public(c.Request.Context(), code, filed)
	pad(start)
	if errors.Is(err, lookup.ErrNoDossier) {
		form["Error"] = l.T("lookup.none")
		s.render(c, http.StatusOK, "lookup", form)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "lookup", map[string]any{"Status": st, "Now": s.opt.Now()})
}

func pad(start time.Time) {
	if d := lookupFloor - time.Since(start); d > 0 {
		time.Sleep(d)
	}
}

// clientNet is the address a limit applies to: the IPv4 address, or the
// /64 of an IPv6 one (one household or phone has the whole /64).
func clientNet(ip string) string {
	a := net.ParseIP(ip)
	if a == nil {
		return ip
	}
	if a.To4() != nil {
		return a.String()
	}
	return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// LookupLimits bound the public lookup: per client address and overall
// (many addresses guessing together). Every lookup counts, found or not. A
// nil limiter does not limit.
type LookupLimits struct {
	PerAddress, Overall *auth.RateLimiter
}

// NewLookupLimits is the default: per address 10 lookups, then one a
// minute; overall 300, then five a second.
func NewLookupLimits() LookupLimits {
	return LookupLimits{PerAddress: auth.NewRateLimiter(10, time.Minute), Overall: auth.NewRateLimiter(300, 200*time.Millisecond)}
}

func (l LookupLimits) take(addr string) (bool, time.Duration) {
	var wait time.Duration
	for _, x := range []struct {
		lim *auth.RateLimiter
		key string
	}{{l.PerAddress, "addr:" + addr}, {l.Overall, "all"}} {
		if x.lim == nil {
			continue
		}
		if ok, w := x.lim.Allow(x.key); !ok {
			wait = max(wait, w)
		}
	}
	if wait > 0 {
		return false, wait
	}
	if l.PerAddress != nil {
		l.PerAddress.Fail("addr:" + addr)
	}
	if l.Overall != nil {
		l.Overall.Fail("all")
	}
	return true, 0
}
