package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"vanban/internal/document"
	"vanban/internal/httpapi"
)

// TestWebDraftCapacityRecipientsAndRevision drives, through the pages
// only, what the API could do and the web could not: the signing capacity
// chosen with the signer, recipients named (units of the organization and
// agencies as text), a returned draft marked as returned with its comment
// above the forms to revise it, a revised file uploaded, and refused forms
// shown again with the error beside the field and the input kept.
func TestWebDraftCapacityRecipientsAndRevision(t *testing.T) {
	o := newOffice(t)
	drafter := o.web(t, "soan")
	page := drafter.get("/new")
	form, csrf := formOf(t, page, "/new")
	wantFields(t, form, "capacity", "principal", "recipient", "recipient_names", "signer", "reviewer", "file")
	if strings.Index(form, `name="file"`) < strings.Index(form, `name="recipient_names"`) {
		t.Errorf("the file input comes before other fields: the permission check would not see them")
	}
	fields := func(subject, names string) []part {
		return []part{{name: "csrf_token", value: csrf}, {name: "unit", value: o.unit.ID}, {name: "type", value: "quyet-dinh"},
			{name: "subject", value: subject}, {name: "signer", value: o.ids["chutich"]}, {name: "capacity", value: "TM"},
			{name: "reviewer", value: o.ids["duyet"]}, {name: "recipient", value: o.unit.ID}, {name: "recipient_names", value: names}}
	}

	// A refused form: the error beside its field, what was typed kept.
	resp, page := drafter.postMultipart("/new", append(fields("Quyết định giữ lại khi lỗi", "Sở Nội vụ\nSở \x07Tài chính"),
		part{name: "file", file: demoPDF, fileName: "du-thao.pdf"}))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="recipient_names-error"`) {
		t.Fatalf("recipients with a control character: %d\n%.800s", resp.StatusCode, text(page))
	}
	if !strings.Contains(page, "Quyết định giữ lại khi lỗi") || !strings.Contains(page, `value="TM" selected`) || !strings.Contains(page, `action="/new"`) {
		t.Errorf("the refused form lost what was typed:\n%.1500s", page)
	}
	resp, page = drafter.postMultipart("/new", append(fields("Tệp hỏng nhưng giữ trích yếu", ""), part{name: "file", file: []byte("không phải PDF"), fileName: "x.pdf"}))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="file-error"`) || !strings.Contains(page, "Tệp hỏng nhưng giữ trích yếu") {
		t.Errorf("a failed upload: %d, want the form again with the error beside the file and the subject kept\n%.800s", resp.StatusCode, text(page))
	}

	// The draft, signed TM., with recipients, straight into review.
	resp, page = drafter.postMultipart("/new", append(fields("Quyết định về nơi nhận và thẩm quyền", "Sở Nội vụ\n\nSở Tài chính\nSở Nội vụ"),
		part{name: "file", file: demoPDF, fileName: "du-thao.pdf"}))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("new draft: %d\n%.800s", resp.StatusCode, text(page))
	}
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/d/")
	wantText(t, "the new draft's page", drafter.get("/d/"+id), "Đã tạo dự thảo.", "Sở Nội vụ", "Sở Tài chính")
	var v httpapi.DocumentView
	if err := o.people["soan"].call(context.Background(), "GET", "/api/v1/documents/"+id, nil, &v); err != nil {
		t.Fatal(err)
	}
	if v.Document.SignCapacity != document.CapacityTM || v.Document.SignerID != o.ids["chutich"] || v.Document.State != document.StateInReview {
		t.Errorf("signer %s capacity %q state %s, want TM. by the chairman, in review", v.Document.SignerID, v.Document.SignCapacity, v.Document.State)
	}
	if strings.Join(v.RecipientNames, "|") != "Sở Nội vụ|Sở Tài chính" || len(v.Recipients) != 1 || v.Recipients[0].UnitID != o.unit.ID {
		t.Errorf("recipients %+v names %q", v.Recipients, v.RecipientNames)
	}

	// Returned by the reviewer: marked, the comment above the forms.
	reviewer := o.web(t, "duyet")
	_, rcsrf := formOf(t, reviewer.get("/d/"+id), "/d/"+id+"/approve")
	reviewer.submit("/d/"+id+"/return", url.Values{"csrf_token": {rcsrf}, "comment": {"Đề nghị sửa căn cứ pháp lý"}}, "/d/"+id)
	page = drafter.get("/d/" + id)
	wantText(t, "the returned draft", page, "Bị trả lại", "Dự thảo bị trả lại", "Đề nghị sửa căn cứ pháp lý", "Trình lại")
	comment, revise, submit := strings.Index(page, `id="returned-comment"`), strings.Index(page, `id="form-revise"`), strings.Index(page, `id="form-submit"`)
	if comment < 0 || revise < 0 || submit < 0 || comment > revise || comment > submit {
		t.Errorf("the return comment (at %d) is not above the revise (%d) and resubmit (%d) forms", comment, revise, submit)
	}
	form, dcsrf := formOf(t, page, "/d/"+id+"/submit")
	wantFields(t, form, "signer", "capacity", "principal", "reviewer")
	if !strings.Contains(form, `value="TM" selected`) {
		t.Errorf("the resubmit form does not keep the capacity TM.:\n%s", form)
	}

	// A revised file.
	revised := append(append([]byte{}, demoPDF...), []byte("\n% bản sửa\n")...)
	resp, page = drafter.postMultipart("/d/"+id+"/revise", []part{{name: "csrf_token", value: dcsrf}, {name: "file", file: revised, fileName: "ban-sua.pdf"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/d/"+id {
		t.Fatalf("revise: %d\n%.600s", resp.StatusCode, text(page))
	}
	wantText(t, "after the revision", drafter.get("/d/"+id), "Đã tải lên bản sửa.", "v2")
	// A revision by someone who may not revise (a clerk, who does not
	// even see drafts) stores nothing.
	before := o.blobFiles(t)
	clerk := o.web(t, "vanthu")
	_, ccsrf := formOf(t, clerk.get("/"), "/logout")
	if resp, page := clerk.postMultipart("/d/"+id+"/revise", []part{{name: "csrf_token", value: ccsrf},
		{name: "file", file: append(revised, 'x'), fileName: "gia.pdf"}}); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
		t.Errorf("a clerk's revision: %d\n%.400s", resp.StatusCode, text(page))
	}
	if n := o.blobFiles(t); n != before {
		t.Errorf("a refused revision left %d files, %d before", n, before)
	}

	// Recipients changed on the draft's page.
	drafter.submit("/d/"+id+"/recipients", url.Values{"csrf_token": {dcsrf}, "recipient_names": {"UBND huyện Thành Long"}}, "/d/"+id)
	if err := o.people["soan"].call(context.Background(), "GET", "/api/v1/documents/"+id, nil, &v); err != nil {
		t.Fatal(err)
	}
	if strings.Join(v.RecipientNames, "|") != "UBND huyện Thành Long" || len(v.Recipients) != 0 {
		t.Errorf("after saving recipients: %+v %q", v.Recipients, v.RecipientNames)
	}

	// An unknown capacity: the page again, the error beside the field.
	resp, page = drafter.post("/d/"+id+"/submit", url.Values{"csrf_token": {dcsrf}, "signer": {o.ids["chutich"]}, "capacity": {"XYZ"},
		"reviewer": {o.ids["duyet"]}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="capacity-error"`) || !strings.Contains(page, `id="form-submit"`) {
		t.Errorf("an unknown capacity: %d\n%.600s", resp.StatusCode, text(page))
	}
	drafter.submit("/d/"+id+"/submit", url.Values{"csrf_token": {dcsrf}, "signer": {o.ids["chutich"]}, "capacity": {"TM"},
		"reviewer": {o.ids["duyet"]}}, "/d/"+id)
	wantText(t, "after resubmitting", drafter.get("/d/"+id), "Đã trình thẩm định.")

	// Irreversible actions ask first: no state change without confirm=yes.
	resp, page = clerk.post("/d/"+id+"/number", url.Values{"csrf_token": {ccsrf}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(text(page), "Số đã cấp không thu hồi được") || !strings.Contains(page, `name="confirm" value="yes"`) {
		t.Errorf("numbering without confirmation: %d\n%.500s", resp.StatusCode, text(page))
	}
	if st := o.doc(t, "soan", id).State; st != document.StateInReview {
		t.Errorf("the unconfirmed numbering moved the document to %s", st)
	}
	for _, action := range []string{"issue", "archive"} {
		if _, page := clerk.post("/d/"+id+"/"+action, url.Values{"csrf_token": {ccsrf}}); !strings.Contains(page, `id="btn-confirm"`) {
			t.Errorf("%s without confirmation did not ask:\n%.400s", action, text(page))
		}
	}
}
