package web

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/web/views"
)

// The OpenAPI 3.1 document is generated from the API routes table, the descriptions below and
// the Go types the handlers encode and decode, so it cannot drift from what the server does:
// a test checks that every API route is described and every description has a route, and
// validates real answers against the document.

// apiParam is a query or header parameter.
type apiParam struct {
	name, in, description, typ string
}

// apiDoc describes one operation of the API.
type apiDoc struct {
	id, summary, description string
	params                   []apiParam
	// request is a value of the body's type, nil for none; response a value of the answer's,
	// or listOf{item} for a page of items.
	request, response any
	status            int // of a success; 200 when zero
	tag               string
	// multipart: the request is multipart/form-data (a file upload) described by request's
	// fields, []byte ones being files.
	multipart bool
}

// listOf marks a response that is a page of items with a next_cursor.
type listOf struct{ item any }

var (
	paramLimit  = apiParam{"limit", "query", "Page size.", "integer"}
	paramCursor = apiParam{"cursor", "query", "The next_cursor of the previous page; absent for the first page.", "string"}
	paramIdem   = apiParam{"Idempotency-Key", "header", "Any unique string (a UUID): a retry with the same key and body within 24 hours gets the first answer again, with Idempotent-Replayed: true, and sends nothing.", "string"}
)

// apiDocs is keyed by "METHOD path" as in the routes table.
var apiDocs = map[string]apiDoc{
	"GET /api/v1/conversations": {id: "listConversations", tag: "Conversations", summary: "List conversations",
		description: "Newest activity first, through the same visibility as the inbox: the key's numbers, and with conversations.view_assigned only those its creator is involved in.",
		params: []apiParam{{"box", "query", "mine, unassigned, escalated, all (default) or closed.", "string"},
			{"q", "query", "Search the contact's name, number and messages.", "string"}, paramCursor, paramLimit},
		response: listOf{apiConversation{}}},
	"GET /api/v1/conversations/:id": {id: "getConversation", tag: "Conversations", summary: "Get a conversation", response: apiConversation{}},
	"POST /api/v1/conversations/:id/assign": {id: "assignConversation", tag: "Conversations", summary: "Assign or unassign",
		description: "The new assignee must be an active member who sees the conversation. Deals with an escalation.",
		request:     assignRequest{}, response: apiConversation{}},
	"POST /api/v1/conversations/:id/escalate": {id: "escalateConversation", tag: "Conversations", summary: "Escalate to a supervisor",
		request: escalateRequest{}, response: apiConversation{}},
	"POST /api/v1/conversations/:id/close": {id: "closeConversation", tag: "Conversations", summary: "Close",
		description: "The assignee, or a key with conversations.assign. A new message from the customer opens it again.", response: apiConversation{}},
	"POST /api/v1/conversations/:id/reopen": {id: "reopenConversation", tag: "Conversations", summary: "Reopen", response: apiConversation{}},
	"GET /api/v1/conversations/:id/messages": {id: "listMessages", tag: "Messages", summary: "List messages", description: "Newest first.",
		params: []apiParam{paramCursor, paramLimit}, response: listOf{apiMessageJSON{}}},
	"POST /api/v1/conversations/:id/messages/text": {id: "sendText", tag: "Messages", summary: "Send text",
		description: "Only within 24 hours of the customer's last message (WhatsApp's customer service window).",
		params:      []apiParam{paramIdem}, request: sendTextRequest{}, response: apiMessageJSON{}, status: http.StatusCreated},
	"POST /api/v1/conversations/:id/messages/template": {id: "sendTemplate", tag: "Messages", summary: "Send an approved template",
		description: "Allowed outside the 24-hour window.",
		params:      []apiParam{paramIdem}, request: sendTemplateRequest{}, response: apiMessageJSON{}, status: http.StatusCreated},
	"POST /api/v1/conversations/:id/messages/media": {id: "sendMedia", tag: "Messages", summary: "Send a file",
		description: "A multipart/form-data upload: the file in a part named file (its Content-Type, or its name's extension, says what it is) " +
			"and an optional caption. WhatsApp's limits are checked before anything is sent: JPEG or PNG images up to 5 MB, MP4 or 3GPP video " +
			"and AAC, AMR, MP3, M4A or OGG audio up to 16 MB, PDF, Office and text documents up to 25 MB (a validation problem naming file " +
			"otherwise). The file is uploaded to the Cloud API and sent as an image, video, audio or document message. Only within 24 hours " +
			"of the customer's last message.",
		params: []apiParam{paramIdem}, request: sendMediaForm{}, multipart: true, response: apiMessageJSON{}, status: http.StatusCreated},
	"GET /api/v1/contacts": {id: "listContacts", tag: "Contacts", summary: "List contacts",
		description: "Contacts with a conversation the key sees, by id. Numbers and names are masked without contacts.view_pii.",
		params:      []apiParam{paramCursor, paramLimit}, response: listOf{apiContactEntry{}}},
	"GET /api/v1/contacts/:id": {id: "getContact", tag: "Contacts", summary: "Get a contact", response: apiContactEntry{}},
	"GET /api/v1/labels": {id: "listLabels", tag: "Labels", summary: "List labels",
		description: "The workspace's labels, defined on the Labels page by members with labels.manage.", response: listOf{apiLabel{}}},
	"GET /api/v1/conversations/:id/labels": {id: "getConversationLabels", tag: "Labels", summary: "A conversation's labels", response: apiLabelSet{}},
	"GET /api/v1/contacts/:id/labels":      {id: "getContactLabels", tag: "Labels", summary: "A contact's labels", response: apiLabelSet{}},
	"POST /api/v1/conversations/:id/labels": {id: "labelConversation", tag: "Labels", summary: "Add and remove a conversation's labels",
		description: "Label ids to add and to remove (at least one). Only the conversation's assignee or a key with conversations.assign " +
			"may label it, as on the pages; each change is in the activity log. Answers the labels the conversation then has.",
		request: labelChangeRequest{}, response: apiLabelSet{}},
	"POST /api/v1/contacts/:id/labels": {id: "labelContact", tag: "Labels", summary: "Add and remove a contact's labels",
		description: "Label ids to add and to remove (at least one). Only a key with conversations.assign, or the assignee of a " +
			"conversation with the contact, may label it, as on the pages. Answers the labels the contact then has.",
		request: labelChangeRequest{}, response: apiLabelSet{}},
	"GET /api/v1/templates": {id: "listTemplates", tag: "Templates", summary: "List templates",
		params: []apiParam{{"status", "query", "draft, in_review, approved, submitted, …", "string"}, {"language", "query", "Meta's language code.", "string"},
			{"name", "query", "Part of the name.", "string"}, paramCursor, paramLimit},
		response: listOf{apiTemplate{}}},
	"GET /api/v1/templates/:id": {id: "getTemplate", tag: "Templates", summary: "Get a template", response: apiTemplate{}},
	"GET /api/v1/members":       {id: "listMembers", tag: "Members", summary: "List members", params: []apiParam{paramCursor, paramLimit}, response: listOf{apiMember{}}},
	"POST /api/v1/invitations": {id: "inviteMember", tag: "Members", summary: "Invite a member",
		description: "The role's permissions and the numbers must be within the key's (no escalation). accept_url is returned once.",
		request:     inviteRequest{}, response: apiInvitation{}, status: http.StatusCreated},
	"POST /api/v1/members/:id/role": {id: "changeMemberRole", tag: "Members", summary: "Change a member's role",
		description: "Only to a role within the key's permissions, never of a member who holds more than the key, never the key's own creator.",
		request:     roleRequest{}, response: apiMember{}},
	"POST /api/v1/members/:id/numbers": {id: "setMemberNumbers", tag: "Members", summary: "Change a member's number scope",
		request: apiNumberScope{}, response: apiMember{}},
	"POST /api/v1/members/:id/deactivate": {id: "deactivateMember", tag: "Members", summary: "Deactivate a member",
		description: "Ends their sessions and their API keys at once.", response: apiMember{}},
	"GET /api/v1/activity": {id: "listActivity", tag: "Activity", summary: "List activity events",
		description: "Newest first, with the activity page's filters.",
		params: []apiParam{{"actor", "query", "member:ID, api_key:ID, system or anonymous.", "string"},
			{"action", "query", "An action id, or group:KEY.", "string"}, {"target_type", "query", "What was acted on.", "string"},
			{"target_id", "query", "Its id (with target_type).", "string"}, {"outcome", "query", "success, denied or failed.", "string"},
			{"from", "query", "Start, YYYY-MM-DD or RFC 3339.", "string"}, {"to", "query", "End.", "string"}, paramCursor, paramLimit},
		response: listOf{apiEvent{}}},
}

var (
	openAPIOnce sync.Once
	openAPIJSON []byte
	openAPIErr  error
)

func (s *Server) openAPIDocument(c echo.Context) error {
	openAPIOnce.Do(func() { openAPIJSON, openAPIErr = json.MarshalIndent(s.OpenAPI(), "", "  ") })
	if openAPIErr != nil {
		return openAPIErr
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSONCharsetUTF8, openAPIJSON)
}

// OpenAPI returns the API's OpenAPI 3.1 document.
func (s *Server) OpenAPI() map[string]any {
	g := &schemaGen{schemas: map[string]any{}}
	problem := g.schema(reflect.TypeOf(Problem{}))
	problemResponse := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/problem+json": map[string]any{"schema": problem}}}
	}
	paths := map[string]any{}
	for _, r := range s.apiRoutes() {
		if r.access.IsPublic() {
			continue
		}
		d, ok := apiDocs[r.method+" "+r.path]
		if !ok {
			continue // the test fails on it
		}
		path := strings.TrimPrefix(toOpenAPIPath(r.path), apiPrefix)
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		status := d.status
		if status == 0 {
			status = http.StatusOK
		}
		var success any
		if l, ok := d.response.(listOf); ok {
			success = map[string]any{"type": "object", "required": []string{"data", "next_cursor"}, "additionalProperties": false,
				"properties": map[string]any{
					"data":        map[string]any{"type": "array", "items": g.schema(reflect.TypeOf(l.item))},
					"next_cursor": map[string]any{"type": []string{"string", "null"}, "description": "Pass as ?cursor= for the next page; null on the last page."},
				}}
		} else {
			success = g.schema(reflect.TypeOf(d.response))
		}
		responses := map[string]any{
			itoa(status): map[string]any{"description": "Success", "content": map[string]any{"application/json": map[string]any{"schema": success}}},
			"401":        problemResponse("Missing, unknown, revoked or expired key (problem type unauthorized)."),
			"403":        problemResponse("The key lacks the permission (missing-scope) or a rule refuses (forbidden)."),
			"429":        problemResponse("Rate limited: see Retry-After."),
			"default":    problemResponse("Any other problem; the type says which."),
		}
		var params []any
		if strings.Contains(r.path, ":id") {
			params = append(params, map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "integer"}})
			responses["404"] = problemResponse("No such record, or outside what the key sees.")
		}
		for _, p := range d.params {
			params = append(params, map[string]any{"name": p.name, "in": p.in, "description": p.description, "schema": map[string]any{"type": p.typ}})
		}
		op := map[string]any{
			"operationId": d.id, "summary": d.summary, "tags": []string{d.tag}, "responses": responses,
			"description":  strings.TrimSpace(d.description + "\n\nNeeds: " + r.access.String() + "."),
			"x-permission": permissionIDs(r.access),
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if d.request != nil {
			ct, schema := "application/json", g.schema(reflect.TypeOf(d.request))
			if d.multipart {
				ct = "multipart/form-data"
				g.filesAsBinary(reflect.TypeOf(d.request))
			}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{ct: map[string]any{"schema": schema}}}
			responses["422"] = problemResponse("A field is not valid (validation-failed); errors names each field.")
		}
		item[strings.ToLower(r.method)] = op
	}
	var problemDocs []string
	for _, t := range problemTypes {
		problemDocs = append(problemDocs, "- `"+t.uri()+"` ("+itoa(t.status)+"): "+t.title)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Switchboard API", "version": "1",
			"description": "The JSON API of a Switchboard workspace. Authenticate with an API key made on the Developers page: " +
				"`Authorization: Bearer sb_live_…`. A key does what its permissions allow, never more than its creator can do now, and sees " +
				"the conversations the inbox would show with the same permissions and numbers (records outside answer 404).\n\n" +
				"Lists are pages: `data` and `next_cursor`. Errors are RFC 9457 problem details (`application/problem+json`) with a stable `type`:\n\n" +
				strings.Join(problemDocs, "\n") + "\n\nEach key may make " + itoa(apiBurst) + " requests at once, refilled at " + itoa(apiRate) +
				" per second; answers carry RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset, and a 429 carries Retry-After."},
		"servers":  []any{map[string]any{"url": apiPrefix}},
		"security": []any{map[string]any{"bearerAuth": []string{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas": g.schemas,
			"securitySchemes": map[string]any{"bearerAuth": map[string]any{"type": "http", "scheme": "bearer",
				"description": "An API key, sb_live_ followed by 43 characters."}},
		},
	}
}

// toOpenAPIPath turns echo's :id into OpenAPI's {id}.
func toOpenAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, seg := range parts {
		if strings.HasPrefix(seg, ":") {
			parts[i] = "{" + seg[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func permissionIDs(r authz.Requirement) []string {
	var out []string
	for _, p := range r.Permissions() {
		out = append(out, p.ID())
	}
	return out
}

// schemaGen builds JSON Schemas (2020-12, as OpenAPI 3.1 uses) from Go types by their json
// tags; named structs become components.
type schemaGen struct {
	schemas map[string]any
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch t.Kind() {
	case reflect.Pointer:
		inner := g.schema(t.Elem())
		if typ, ok := inner["type"].(string); ok {
			out := copyMap(inner)
			out["type"] = []string{typ, "null"}
			return out
		}
		return map[string]any{"oneOf": []any{inner, map[string]any{"type": "null"}}}
	case reflect.Struct:
		name := schemaName(t)
		if _, done := g.schemas[name]; !done {
			g.schemas[name] = map[string]any{} // placeholder against recursion
			g.schemas[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	}
	// Any JSON value, null included (spelled out: some validators read {} as not nullable).
	return map[string]any{"type": []string{"null", "boolean", "integer", "number", "string", "array", "object"}}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	sort.Strings(required)
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// fields describes t's fields into props; an embedded struct without a JSON name gives its
// fields as if they were t's, as encoding/json writes them.
func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			g.fields(f.Type, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}

// filesAsBinary describes the []byte fields of a multipart form's component as files.
func (g *schemaGen) filesAsBinary(t reflect.Type) {
	sc, _ := g.schemas[schemaName(t)].(map[string]any)
	props, _ := sc["properties"].(map[string]any)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Type == reflect.TypeOf([]byte(nil)) && props[name] != nil {
			props[name] = map[string]any{"type": "string", "contentMediaType": "application/octet-stream", "description": "A file."}
		}
	}
}

// schemaName is the component name of a type: apiConversation → Conversation,
// templates.Header → TemplateHeader.
func schemaName(t reflect.Type) string {
	name := strings.TrimSuffix(strings.TrimPrefix(t.Name(), "api"), "JSON")
	if name == "" {
		name = "Object"
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	name = string(r)
	if strings.HasSuffix(t.PkgPath(), "/templates") && !strings.HasPrefix(name, "Template") {
		name = "Template" + name
	}
	if strings.HasSuffix(t.PkgPath(), "/audit") {
		name = "Event" + name
	}
	return name
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// apiReferencePage renders the OpenAPI document for people.
func (s *Server) apiReferencePage(c echo.Context) error {
	doc := s.OpenAPI()
	v := views.APIReferenceView{Page: s.page(c, "API reference", ""), BaseURL: strings.TrimSuffix(s.Config.BaseURL.String(), "/"),
		Rate: "Each key may make " + itoa(apiBurst) + " requests at once, refilled at " + itoa(apiRate) + " per second. Answers carry RateLimit-Limit, " +
			"RateLimit-Remaining and RateLimit-Reset; a 429 carries Retry-After, the seconds to wait."}
	groups := map[string]*views.APIGroup{}
	var order []string
	for _, r := range s.apiRoutes() {
		d, ok := apiDocs[r.method+" "+r.path]
		if !ok {
			continue
		}
		g := groups[d.tag]
		if g == nil {
			g = &views.APIGroup{Name: d.tag}
			groups[d.tag] = g
			order = append(order, d.tag)
		}
		op := doc["paths"].(map[string]any)[strings.TrimPrefix(toOpenAPIPath(r.path), apiPrefix)].(map[string]any)[strings.ToLower(r.method)].(map[string]any)
		status := d.status
		if status == 0 {
			status = http.StatusOK
		}
		o := views.APIOperation{Anchor: d.id, Method: r.method, Path: toOpenAPIPath(r.path), Summary: d.summary, Description: d.description,
			Permission: r.access.String(), Status: itoa(status)}
		if params, ok := op["parameters"].([]any); ok {
			for _, p := range params {
				pm := p.(map[string]any)
				desc, _ := pm["description"].(string)
				req, _ := pm["required"].(bool)
				o.Params = append(o.Params, views.APIField{Name: pm["name"].(string), In: pm["in"].(string), Type: schemaType(pm["schema"]), Description: desc, Required: req})
			}
		}
		if d.request != nil {
			o.Request = schemaName(reflect.TypeOf(d.request))
		}
		if l, ok := d.response.(listOf); ok {
			o.Response = schemaName(reflect.TypeOf(l.item))
			o.Description = strings.TrimSpace(o.Description + " A page of " + o.Response + " objects.")
		} else {
			o.Response = schemaName(reflect.TypeOf(d.response))
		}
		g.Operations = append(g.Operations, o)
	}
	for _, name := range order {
		v.Groups = append(v.Groups, *groups[name])
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sc := schemas[n].(map[string]any)
		props, _ := sc["properties"].(map[string]any)
		required := map[string]bool{}
		if req, ok := sc["required"].([]string); ok {
			for _, r := range req {
				required[r] = true
			}
		}
		fields := make([]string, 0, len(props))
		for f := range props {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		vs := views.APISchema{Name: n}
		for _, f := range fields {
			vs.Fields = append(vs.Fields, views.APIField{Name: f, Type: schemaType(props[f]), Required: required[f]})
		}
		v.Schemas = append(v.Schemas, vs)
	}
	for _, t := range problemTypes {
		v.Problems = append(v.Problems, views.APIProblem{Anchor: "problem-" + t.name, Type: t.uri(), Status: itoa(t.status), Title: t.title})
	}
	return render(c, http.StatusOK, views.APIReference(v))
}

// schemaType describes a schema in a few words for the reference page.
func schemaType(s any) string {
	m, ok := s.(map[string]any)
	if !ok {
		return "any"
	}
	if ref, ok := m["$ref"].(string); ok {
		return strings.TrimPrefix(ref, "#/components/schemas/")
	}
	if one, ok := m["oneOf"].([]any); ok {
		var parts []string
		for _, o := range one {
			parts = append(parts, schemaType(o))
		}
		return strings.Join(parts, " | ")
	}
	switch t := m["type"].(type) {
	case string:
		switch t {
		case "array":
			return "array of " + schemaType(m["items"])
		case "object":
			if ap, ok := m["additionalProperties"].(map[string]any); ok {
				return "object of " + schemaType(ap)
			}
		}
		return t
	case []string:
		return strings.Join(t, " | ")
	case nil:
		return "any"
	}
	return "any"
}
