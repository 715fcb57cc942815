package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"vanban/internal/document"
)

func init() {
	pageTexts(func() map[string][2]string {
		return map[string][2]string{
			"nav.registers": {"Sổ đăng ký", "Registers"},
			"reg.title":     {"Sổ đăng ký văn bản", "Registers"},
			"reg.year":      {"Năm", "Year"},
			"reg.next":      {"Số tiếp theo", "Next number"},
			"reg.print":     {"In (PDF)", "Print (PDF)"},
			"reg.xlsx":      {"Xuất Excel", "Export (XLSX)"},
			"reg.none":      {"Chưa có sổ nào trong năm.", "No register this year."},
			"reg.period":    {"In một khoảng thời gian", "Print a period"},
			"reg.report":    {"Báo cáo tình hình xử lý văn bản", "Processing report"},
			"reg.from":      {"Từ ngày", "From"},
			"reg.to":        {"Đến ngày", "To"},
			"reg.show":      {"Xem", "Show"},
		}
	})
}

// registersPage lists the year's registers with their printouts (the API
// answers them with the same session) and the processing report.
func (s *Server) registersPage(c *gin.Context) {
	ctx, a := c.Request.Context(), actor(c)
	if err := s.opt.Workflow.KeepsRegisters(ctx, a); err != nil {
		s.fail(c, err)
		return
	}
	year := s.opt.Now().In(document.VietnamTime).Year()
	if y := c.Query("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 1900 || n > 9999 {
			s.errorPage(c, http.StatusUnprocessableEntity, s.lang(c).T("err.invalid"), "year: a year such as 2026")
			return
		}
		year = n
	}
	regs, err := s.opt.Workflow.Registers(ctx, a, year)
	if err != nil {
		s.fail(c, err)
		return
	}
	first := time.Date(year, 1, 1, 0, 0, 0, 0, document.VietnamTime)
	s.render(c, http.StatusOK, "registers", map[string]any{"Year": year, "Registers": regs,
		"From": first.Format("02/01/2006"), "To": first.AddDate(1, 0, -1).Format("02/01/2006")})
}
