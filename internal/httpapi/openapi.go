package httpapi

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"vanban/internal/signsession"
	"vanban/signing/verify"
)

// schemas names the Go type behind every schema the route table mentions.
// The OpenAPI document is generated from them and from the table, so it
// cannot drift from the code; a test checks that every route is described
// and every named schema exists.
var schemas = map[string]any{
	"Login":          LoginRequest{},
	"LoginResult":    LoginResult{},
	"Me":             Me{},
	"PasswordChange": PasswordChange{},
	"TokenCreate":    TokenCreate{},
	"TokenCreated":   TokenJSON{},
	"TokenList": struct {
		Items []TokenJSON `json:"items"`
	}{},
	"Unit":       UnitJSON{},
	"UnitCreate": UnitCreate{},
	"UnitList": struct {
		Items []UnitJSON `json:"items"`
	}{},
	"User":       UserJSON{},
	"UserCreate": UserCreate{},
	"UserList": struct {
		Items []UserJSON `json:"items"`
	}{},
	"PasswordSet":  PasswordSet{},
	"UserDisabled": UserDisabled{},
	"RoleGrant":    RoleGrant{},
	"DocumentTypeList": struct {
		Items []struct{ Code, Abbrev, Name string } `json:"items"`
	}{},
	"Delegation":       DelegationJSON{},
	"DelegationCreate": DelegationCreate{},
	"DelegationList": struct {
		Items []DelegationJSON `json:"items"`
	}{},
	"Inbox":    map[string][]DocumentJSON{},
	"Document": DocumentJSON{},
	"DocumentList": struct {
		Items []DocumentJSON `json:"items"`
	}{},
	"DocumentPage": DocumentPage{},
	"DocumentView": DocumentView{},
	"Timeline": struct {
		Items []StepJSON `json:"items"`
	}{},
	"Version":            VersionJSON{},
	"Attachment":         AttachmentJSON{},
	"Link":               Link{},
	"VerificationReport": verify.Report{},
	"Verification":       Verification{},
	"Verifications": struct {
		Items []Verification `json:"items"`
	}{},
	"Recipients":         Recipients{},
	"Submit":             Submit{},
	"Comment":            Comment{},
	"Reason":             Reason{},
	"SignerAssign":       SignerAssign{},
	"IncomingRegistered": IncomingRegistered{},
	"RouteTo":            RouteTo{},
	"AssignTo":           AssignTo{},
	"RegisterList": struct {
		Items []RegisterJSON `json:"items"`
	}{},
	"Batch":          Batch{},
	"Layout":         signsession.Layout{},
	"SigningSession": signsession.Session{},
	"SigningSessionList": struct {
		Items []signsession.Session `json:"items"`
	}{},
	"Problem":     ProblemDetails{},
	"RoleRequest": RoleRequestJSON{},
	"RoleRequestList": struct {
		Items []RoleRequestJSON `json:"items"`
	}{},
	"SigningIdentity": SigningIdentityJSON{},
	"Webhook":         WebhookJSON{},
	"WebhookCreate":   WebhookCreate{},
	"WebhookList": struct {
		Items []WebhookJSON `json:"items"`
	}{},
	"WebhookMessageList": struct {
		Items []WebhookMessageJSON `json:"items"`
	}{},
	"WebhookAttemptList": struct {
		Items []WebhookAttemptJSON `json:"items"`
	}{},
	"DraftCreate":    DraftCreate{},
	"IncomingCreate": IncomingCreate{},
}

// multipartMeta names the metadata schema of each upload route.
var multipartMeta = map[string]string{
	"POST /documents": "DraftCreate",
	"POST /incoming":  "IncomingCreate",
}

var pathParam = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`:([a-z_]+)`) })

// openAPIDocument builds the OpenAPI 3.1 description of the route table.
func openAPIDocument(table []route) map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range table {
		p := "/api/v1" + pathParam().ReplaceAllString(rt.Path, "{$1}")
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op := map[string]any{
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
			"operationId": operationID(rt),
		}
		var params []any
		for _, m := range pathParam().FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Public {
			op["security"] = []any{}
		}
		switch {
		case rt.Multipart:
			props := map[string]any{"file": map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}}
			if meta, ok := multipartMeta[rt.Method+" "+rt.Path]; ok {
				props["metadata"] = ref(meta)
			}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object", "required": []string{"file"}, "properties": props}}}}
		case rt.Body != "":
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(rt.Body)}}}
		}
		status := rt.Status
		if status == 0 {
			status = 200
		}
		ok := map[string]any{"description": "success"}
		switch {
		case rt.Response != "":
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.Response)}}
		case strings.HasSuffix(rt.Path, "/file"):
			ok["content"] = map[string]any{"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		problem := map[string]any{"description": "error (RFC 9457 problem details)",
			"content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
		op["responses"] = map[string]any{strconv.Itoa(status): ok, "default": problem}
		paths[p][strings.ToLower(rt.Method)] = op
	}
	components := map[string]any{}
	for name, v := range schemas {
		components[name] = schemaOf(reflect.TypeOf(v))
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "vanban API", "version": "1",
			"description": "Quản lý văn bản và ký số / Document management and digital signing. Errors are RFC 9457 problem details."},
		"paths": paths,
		"components": map[string]any{
			"schemas": components,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "API token (vbt_...) from POST /api/v1/tokens"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie, "description": "browser session; unsafe methods also need the " + CSRFHeader + " header"},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}},
	}
}

func operationID(rt route) string {
	parts := []string{strings.ToLower(rt.Method)}
	for _, seg := range strings.Split(rt.Path, "/") {
		if seg == "" || strings.HasPrefix(seg, ":") {
			continue
		}
		parts = append(parts, strings.ReplaceAll(seg, "-", "_"))
	}
	return strings.Join(parts, "_")
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	rawJSONType  = reflect.TypeOf(json.RawMessage(nil))
	marshalerTyp = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
)

// schemaOf describes a Go type as encoding/json writes it.
func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawJSONType:
		return map[string]any{}
	case t.Implements(marshalerTyp) || reflect.PointerTo(t).Implements(marshalerTyp):
		if t.Kind() == reflect.Struct {
			return map[string]any{}
		}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		addFields(t, props)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, props)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type)
	}
}
