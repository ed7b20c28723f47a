package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/switchboard/switchboard/internal/app/apptest"
)

// loadOpenAPI fetches the served document and checks that it loads and validates as OpenAPI
// 3.1 with a maintained library.
func loadOpenAPI(t *testing.T, in *apptest.Instance) *openapi3.T {
	t.Helper()
	resp, err := http.Get(in.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("document is OpenAPI %s, want 3.1", doc.OpenAPIMajorMinor())
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentDescribesExactlyTheAPIRoutes(t *testing.T) {
	in := apptest.Start(t)
	doc := loadOpenAPI(t, in)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" /api/v1"+path] = true
		}
	}
	routes := map[string]bool{}
	for _, r := range in.App.Server.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || r.Access.IsPublic() {
			continue
		}
		key := r.Method + " " + toOpenAPIPath(r.Path)
		routes[key] = true
		if !documented[key] {
			t.Errorf("%s is not in the OpenAPI document", key)
		}
		op := doc.Paths.Find(strings.TrimPrefix(toOpenAPIPath(r.Path), "/api/v1")).GetOperation(r.Method)
		if op == nil || !strings.Contains(op.Description, "Needs: "+r.Access.String()) {
			t.Errorf("%s does not document its permission %s", key, r.Access)
		}
	}
	for key := range documented {
		if !routes[key] {
			t.Errorf("the OpenAPI document describes %s, which the server does not have", key)
		}
	}
	// The check the API tests run on every answer is live: an answer the document does not
	// allow fails it.
	router := openAPIRouter(t, in)
	req, _ := http.NewRequest(http.MethodGet, in.URL+"/api/v1/conversations/7", nil)
	bad := apiResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: `{"id": "seven"}`}
	if err := validateResponse(router, req, bad); err == nil {
		t.Error("the OpenAPI check accepted a conversation without its fields")
	}
	page := in.Client().Get("/api/v1/docs")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "List conversations") || !strings.Contains(page.Body, `id="problem-missing-scope"`) {
		t.Errorf("reference page: %d", page.Status)
	}
}

func toOpenAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// openAPICheckers holds one response checker per running instance.
var openAPICheckers sync.Map

// openAPIRouter finds the documented operation of a request to in.
func openAPIRouter(t *testing.T, in *apptest.Instance) routers.Router {
	t.Helper()
	doc := loadOpenAPI(t, in)
	doc.Servers = openapi3.Servers{{URL: in.URL + "/api/v1"}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("OpenAPI router: %v", err)
	}
	return router
}

// validateResponse checks one answer against the document; nil for requests outside the API.
func validateResponse(router routers.Router, req *http.Request, resp apiResponse) error {
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Not a documented operation (the document itself, the reference page, an unknown
		// path): TestOpenAPIDocumentDescribesExactlyTheAPIRoutes checks which routes must be.
		return nil
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 resp.Status, Header: resp.Header, Options: opts,
	}
	in.SetBodyBytes([]byte(resp.Body))
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// openAPIChecker validates real answers of the API against the served document: every API test
// client uses it, so each answer a test sees is also checked against what the document says.
func openAPIChecker(t *testing.T, in *apptest.Instance) func(*http.Request, apiResponse) {
	if c, ok := openAPICheckers.Load(in); ok {
		return c.(func(*http.Request, apiResponse))
	}
	router := openAPIRouter(t, in)
	check := func(req *http.Request, resp apiResponse) {
		t.Helper()
		if err := validateResponse(router, req, resp); err != nil {
			t.Errorf("%s %s answered %d, which the OpenAPI document does not allow: %v\n%s", req.Method, req.URL.Path, resp.Status, err, resp.Body)
		}
	}
	openAPICheckers.Store(in, check)
	return check
}
