package interchange

import "time"

// StatusView is one status a recipient reported, as the API and the
// pages show it.
type StatusView struct {
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Staff       string    `json:"staff,omitempty"`
	Department  string    `json:"department,omitempty"`
	At          time.Time `json:"at"`
}

// ReportView is a sent document's per-recipient status table.
type ReportView struct {
	EdxmlDocumentId    string `json:"edxml_document_id,omitempty"`
	BusinessType       int    `json:"business_type"`
	ReplacesDocumentID string `json:"replaces_document_id,omitempty"`
	RecallReason       string `json:"recall_reason,omitempty"`
	Recipients         []struct {
		OrganId  string       `json:"organ_id"`
		Name     string       `json:"name"`
		Sending  string       `json:"sending"` // pending, sent, dead, or "" before issue
		Error    string       `json:"error,omitempty"`
		Statuses []StatusView `json:"statuses"`
	} `json:"recipients"`
}

// View is rep as the API and the pages show it.
func View(rep *SendReport) ReportView {
	var out ReportView
	if x := rep.Exchange; x != nil {
		out.EdxmlDocumentId, out.BusinessType, out.ReplacesDocumentID, out.RecallReason = x.EdxmlDocumentId, x.BusinessType, x.ReplacesDocumentID, x.RecallReason
	}
	for _, r := range rep.Recipients {
		row := struct {
			OrganId  string       `json:"organ_id"`
			Name     string       `json:"name"`
			Sending  string       `json:"sending"`
			Error    string       `json:"error,omitempty"`
			Statuses []StatusView `json:"statuses"`
		}{OrganId: r.OrganId, Name: r.Name, Statuses: []StatusView{}}
		for _, p := range r.Packages {
			if p.BusinessType != 1 { // the document's own package, not the recall
				row.Sending, row.Error = p.State, p.LastError
			}
		}
		for _, s := range r.Statuses {
			row.Statuses = append(row.Statuses, StatusView{Code: s.Code, Name: statusName(s.Code), Description: s.Description,
				Staff: s.Staff, Department: s.Department, At: s.At})
		}
		out.Recipients = append(out.Recipients, row)
	}
	return out
}

func statusName(code string) string {
	return map[string]string{"01": "Đã đến", "02": "Từ chối tiếp nhận", "03": "Đã tiếp nhận", "04": "Phân công", "05": "Đang xử lý",
		"06": "Hoàn thành", "13": "Lấy lại / thu hồi", "15": "Đồng ý thu hồi", "16": "Từ chối thu hồi"}[code]
}
