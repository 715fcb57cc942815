package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"vanban/internal/document"
	"vanban/internal/httpapi"
	"vanban/internal/signsession"
	"vanban/internal/store"
	"vanban/internal/store/pgtest"
)

// TestAuthorizationMatrix calls every operation the OpenAPI document
// describes, as every role of another organization, and as the people of
// the same organization who are not named on a secret document, with the
// identifiers of organization A's objects. Nothing may succeed on A's
// objects, and no answer may carry A's data.
func TestAuthorizationMatrix(t *testing.T) {
	pgtest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		const openSubject, secretSubject = "Kế hoạch công khai BÍ-DANH-MỞ", "Kế hoạch mật BÍ-DANH-MẬT"
		open := e.draft(openSubject, document.ConfidentialityNormal)
		secret := e.draft(secretSubject, document.ConfidentialitySecret)
		code, b := e.upload("A.drafter", "/api/v1/documents/"+secret.ID+"/attachments", nil, "phu-luc.pdf", samplePDF(t))
		if code != http.StatusCreated {
			t.Fatalf("attachment: %d %s", code, b)
		}
		var att httpapi.AttachmentJSON
		e.must(json.Unmarshal(b, &att))
		e.ok("A.drafter", "POST", "/api/v1/documents/"+secret.ID+"/signer", httpapi.SignerAssign{SignerID: e.users["A.signer"].ID}, 200, nil)
		e.ok("A.drafter", "POST", "/api/v1/documents/"+secret.ID+"/submit", httpapi.Submit{Reviewers: []string{e.users["A.reviewer"].ID}}, 200, nil)
		code, b = e.upload("A.clerk", "/api/v1/incoming", httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan,
			Subject: "Công văn đến BÍ-DANH-ĐẾN", SenderName: "Sở Nội vụ", SenderSymbol: "7/SNV"}, "cv.pdf", samplePDF(t))
		if code != http.StatusCreated {
			t.Fatalf("incoming: %d %s", code, b)
		}
		var dl httpapi.DelegationJSON
		e.ok("A.admin", "POST", "/api/v1/delegations", httpapi.DelegationCreate{PrincipalID: e.users["A.signer"].ID,
			DelegateID: e.users["A.reviewer"].ID, Capacity: document.CapacityKT, ValidFrom: time.Now().Add(-time.Hour), Reference: "BÍ-DANH-UQ"}, 201, &dl)
		regs, err := db.Registers(ctx, e.orgA.ID, time.Now().In(document.VietnamTime).Year())
		e.must(err)
		if len(regs) == 0 {
			t.Fatal("no register in A")
		}
		toks, err := db.APITokens(ctx, e.users["A.signer"].ID)
		e.must(err)
		var hook httpapi.WebhookJSON
		e.ok("A.admin", "POST", "/api/v1/webhooks", httpapi.WebhookCreate{URL: "https://motcua.example/hooks", Events: []string{"*"}, Description: "BÍ-DANH-HOOK"}, 201, &hook)
		// An event for A's endpoint: a received document.
		code, b = e.upload("A.clerk", "/api/v1/incoming", httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan,
			Subject: "Công văn đến BÍ-DANH-ĐẾN", SenderName: "Sở Nội vụ", SenderSymbol: "8/SNV"}, "cv.pdf", samplePDF(t))
		if code != http.StatusCreated {
			t.Fatalf("incoming: %d %s", code, b)
		}
		msgs, err := db.WebhookMessages(ctx, hook.ID, 10)
		e.must(err)
		if len(msgs) == 0 {
			t.Fatal("no webhook message queued for A")
		}

		params := map[string]string{
			"{id}": secret.ID, "{seq}": "1", "{attachment}": att.ID, "{provider}": "sim", "{message}": msgs[0].ID,
		}
		// Other path owners than documents.
		ownerID := map[string]string{
			"/api/v1/users/":            e.users["A.signer"].ID,
			"/api/v1/tokens/":           toks[0].ID,
			"/api/v1/delegations/":      dl.ID,
			"/api/v1/registers/":        regs[0].ID,
			"/api/v1/signing/sessions/": "0123456789abcdef0123456789abcdef",
			"/api/v1/webhooks/":         hook.ID,
		}
		bodies := map[string]any{
			"PasswordChange":     httpapi.PasswordChange{Current: testPassword, New: "mật-khẩu-mới-dài"},
			"TokenCreate":        httpapi.TokenCreate{Name: "x"},
			"UnitCreate":         httpapi.UnitCreate{ParentID: e.orgA.ID, Abbrev: "X", Name: "X"},
			"UserCreate":         httpapi.UserCreate{Username: "intruder", FullName: "X", Roles: []httpapi.GrantJSON{{UnitID: e.office.ID, Role: document.RoleDrafter}}},
			"PasswordSet":        httpapi.PasswordSet{Password: "mật-khẩu-mới-dài"},
			"UserDisabled":       httpapi.UserDisabled{Disabled: true},
			"RoleGrant":          httpapi.RoleGrant{UnitID: e.office.ID, Role: document.RoleClerk},
			"DelegationCreate":   httpapi.DelegationCreate{PrincipalID: e.users["A.signer"].ID, DelegateID: e.users["A.drafter"].ID, Capacity: document.CapacityKT, ValidFrom: time.Now()},
			"Recipients":         httpapi.Recipients{UnitIDs: []string{e.fin.ID}},
			"Submit":             httpapi.Submit{Reviewers: []string{e.users["A.reviewer"].ID}},
			"Comment":            httpapi.Comment{Comment: "x"},
			"Reason":             httpapi.Reason{Reason: "x"},
			"SignerAssign":       httpapi.SignerAssign{SignerID: e.users["A.signer"].ID},
			"RouteTo":            httpapi.RouteTo{LeaderID: e.users["A.signer"].ID},
			"AssignTo":           httpapi.AssignTo{HandlerID: e.users["A.drafter"].ID, HandlingUnitID: e.office.ID, WorkingDays: 3},
			"Batch":              httpapi.Batch{DocumentIDs: []string{secret.ID, open.ID}},
			"SigningIdentity":    httpapi.SigningIdentityJSON{Provider: "sim", Signer: "84900000001"},
			"WebhookCreate":      httpapi.WebhookCreate{URL: "https://example.org/hook", Events: []string{"*"}},
			"Layout":             signsession.DefaultLayout(),
			"OrganId":            httpapi.OrganIdJSON{OrganId: "000.00.99.H40"},
			"Agency":             httpapi.AgencyJSON{Name: "X"},
			"ExternalRecipients": httpapi.ExternalRecipients{OrganIds: []string{"000.00.98.H40"}},
			"Replacement":        httpapi.Replacement{DocumentID: open.ID, BusinessType: 3, Reason: "x"},
			"ScheduleEntry":      httpapi.ScheduleEntryJSON{Title: "x", Years: 5},
			"RecordFileCreate":   httpapi.RecordFileCreate{Year: 2026, Title: "x", UnitID: e.office.ID, ResponsibleID: e.users["A.drafter"].ID, Years: 5},
			"FileDocument":       httpapi.FileDocumentJSON{DocumentID: open.ID},
			"DossierSet":         httpapi.DossierSetJSON{Code: "H40.99-261203-0001", FiledOn: "03/12/2026"},
			"NotifyPreference":   httpapi.NotifyPreferenceJSON{Channel: "page", Mode: "instant"},
		}
		multipartMeta := map[string]any{
			"/api/v1/documents": httpapi.DraftCreate{UnitID: e.office.ID, Type: document.TypeQuyetDinh, Subject: "x"},
			"/api/v1/incoming":  httpapi.IncomingCreate{UnitID: e.orgA.ID, Type: document.TypeCongVan, Subject: "x", SenderName: "x"},
		}
		// What must never appear in an answer to someone outside.
		markers := []string{"BÍ-DANH-MẬT", "BÍ-DANH-MỞ", "BÍ-DANH-ĐẾN", "BÍ-DANH-UQ", "BÍ-DANH-HOOK", "motcua.example", e.orgA.Name, e.office.Name, e.fin.Name, "Người dùng A."}
		secretMarkers := []string{"BÍ-DANH-MẬT", att.SHA256}

		var doc struct {
			Paths map[string]map[string]struct {
				RequestBody *struct {
					Content map[string]struct {
						Schema map[string]any `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
				Security *[]any `json:"security"`
			} `json:"paths"`
		}
		e.ok("", "GET", "/api/openapi.json", nil, 200, &doc)
		paths := make([]string, 0, len(doc.Paths))
		for p := range doc.Paths {
			paths = append(paths, p)
		}
		sort.Strings(paths)

		type call struct {
			method, path, concrete string
			ownsA                  bool // the path names an object of A
			do                     func(key string) (int, []byte)
		}
		var calls []call
		for _, p := range paths {
			for method, op := range doc.Paths[p] {
				if op.Security != nil && len(*op.Security) == 0 {
					continue // public: login, provider callbacks
				}
				concrete := p
				for prefix, id := range ownerID {
					if strings.HasPrefix(p, prefix+"{id}") {
						concrete = strings.Replace(p, "{id}", id, 1)
					}
				}
				for k, v := range params {
					concrete = strings.ReplaceAll(concrete, k, v)
				}
				m := strings.ToUpper(method)
				var body any
				isMultipart := false
				if op.RequestBody != nil {
					if c, ok := op.RequestBody.Content["application/json"]; ok {
						name := strings.TrimPrefix(c.Schema["$ref"].(string), "#/components/schemas/")
						var ok bool
						if body, ok = bodies[name]; !ok {
							t.Fatalf("no test body for schema %s (%s %s)", name, m, p)
						}
					} else {
						isMultipart = true
					}
				}
				cc := call{method: m, path: p, concrete: concrete, ownsA: concrete != p}
				cc.do = func(key string) (int, []byte) {
					if isMultipart {
						return e.uploadAs(key, m, concrete, multipartMeta[concrete], "x.pdf", samplePDF(t))
					}
					return e.call(key, m, concrete, body)
				}
				calls = append(calls, cc)
			}
		}
		if len(calls) < 50 {
			t.Fatalf("only %d operations to check", len(calls))
		}
		for _, role := range document.Roles {
			key := "B." + string(role)
			for _, c := range calls {
				code, body := c.do(key)
				if c.ownsA && code < 400 {
					t.Errorf("%s %s as %s of another organization: %d %s", c.method, c.path, role, code, body)
				}
				if code >= 500 {
					t.Errorf("%s %s as %s: %d %s", c.method, c.path, key, code, body)
				}
				for _, mk := range markers {
					if strings.Contains(string(body), mk) {
						t.Errorf("%s %s as %s of another organization leaks %q: %s", c.method, c.path, role, mk, body)
					}
				}
			}
		}
		// Inside A, a secret document exists only for the people named on
		// it and the clerks.
		for _, key := range []string{"A.drafter-tc", "A.archivist", "A.admin"} {
			for _, c := range calls {
				if !strings.Contains(c.path, "/documents/{id}") && c.path != "/api/v1/documents" && c.path != "/api/v1/inbox" && c.path != "/api/v1/signing/batch" {
					continue
				}
				code, body := c.do(key)
				if strings.Contains(c.path, "{id}") && code < 400 {
					t.Errorf("%s %s on the secret document as %s: %d %s", c.method, c.path, key, code, body)
				}
				for _, mk := range secretMarkers {
					if strings.Contains(string(body), mk) {
						t.Errorf("%s %s as %s leaks the secret document: %s", c.method, c.path, key, body)
					}
				}
			}
		}
		// And nothing moved: the secret document is still in review with
		// its one version, and A's people are unchanged.
		var v httpapi.DocumentView
		e.ok("A.clerk", "GET", "/api/v1/documents/"+secret.ID, nil, 200, &v)
		if v.Document.State != document.StateInReview || len(v.Versions) != 1 || len(v.Attachments) != 1 {
			t.Errorf("the secret document changed: %+v", v)
		}
		u, err := db.User(ctx, e.users["A.signer"].ID)
		e.must(err)
		if u.Disabled {
			t.Error("a foreign admin disabled A's signer")
		}
		gs, err := db.Grants(ctx, e.users["A.signer"].ID)
		e.must(err)
		if len(gs) != 1 {
			t.Errorf("A's signer grants changed: %+v", gs)
		}
	})
}
