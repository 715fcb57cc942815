package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"vanban/internal/notify"
)

func init() {
	pageTexts(func() map[string][2]string {
		return map[string][2]string{
			"nav.notices":        {"Thông báo", "Notices"},
			"notices.title":      {"Thông báo", "Notices"},
			"notices.none":       {"Chưa có thông báo.", "No notices yet."},
			"notices.channels":   {"Cách nhận thông báo", "How I am told"},
			"notices.ch.page":    {"Trên trang (ngay lập tức)", "In the page (at once)"},
			"notices.ch.email":   {"Thư điện tử", "E-mail"},
			"notices.ch.chat":    {"Tin nhắn Zalo", "Chat (Zalo)"},
			"notices.mode":       {"Nhận", "Mode"},
			"notices.address":    {"Địa chỉ / mã người dùng", "Address / user id"},
			"notices.instant":    {"Ngay khi có việc", "At once"},
			"notices.digest":     {"Tổng hợp hằng ngày", "Daily digest"},
			"notices.off":        {"Không nhận", "Off"},
			"notices.save":       {"Lưu", "Save"},
			"notices.unread":     {"Chưa đọc", "Unread"},
			"notices.secretnote": {"Thư điện tử và tin nhắn về văn bản mật chỉ báo \"Bạn có một văn bản cần xử lý\".", "E-mail and chat about a secret document say only \"you have a document\"."},
		}
	})
}

// noticesPage lists the person's notices and their channel choices.
func (s *Server) noticesPage(c *gin.Context) {
	st := s.opt.Oversight.Notifications
	if st == nil {
		s.errorPage(c, http.StatusServiceUnavailable, s.lang(c).T("err.internal"), "notifications are not configured")
		return
	}
	ctx := c.Request.Context()
	uid := session(c).User.ID
	ns, err := st.Notifications(ctx, uid, 50)
	if err != nil {
		s.fail(c, err)
		return
	}
	stored, err := st.NotifyPreferences(ctx, uid)
	if err != nil {
		s.fail(c, err)
		return
	}
	byChannel := map[string]notify.Preference{}
	for _, p := range stored {
		byChannel[p.Channel] = p
	}
	var prefs []notify.Preference
	for _, ch := range notify.Channels {
		p, ok := byChannel[ch]
		if !ok {
			p = notify.DefaultPreference(uid, ch)
		}
		prefs = append(prefs, p)
	}
	s.render(c, http.StatusOK, "notices", map[string]any{"Notices": ns, "Prefs": prefs})
}

// setNoticeChannel stores one channel's choice.
func (s *Server) setNoticeChannel(c *gin.Context) {
	st := s.opt.Oversight.Notifications
	if st == nil {
		s.errorPage(c, http.StatusServiceUnavailable, s.lang(c).T("err.internal"), "notifications are not configured")
		return
	}
	p := notify.Preference{UserID: session(c).User.ID, Channel: c.PostForm("channel"), Mode: notify.Mode(c.PostForm("mode")), Address: c.PostForm("address")}
	if err := p.Validate(); err != nil {
		s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T("err.invalid"), err.Error())
		return
	}
	if err := st.SetNotifyPreference(c.Request.Context(), p); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/thong-bao")
}
