package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// actionAreas are the first segments of action ids: a dotted string literal starting with one
// of them, in a package that records events, is taken for an action id.
var actionAreas = []string{"access", "alert", "api_key", "audit", "canned_response", "contact", "conversation",
	"conversations", "email", "invitation", "member", "message", "phone_number", "request", "role", "session",
	"settings", "setup", "template", "user", "waba", "webhook", "workspace"}

// notActions are dotted literals in those areas that are not action ids.
var notActions = map[string]bool{
	"security.two_factor": true, // settings fields recorded in changes
}

var dottedID = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// TestEveryRecordedActionHasALabel reads every Go file that records events (those importing
// internal/audit, and the package itself) and checks that each action id literal has a label
// of its own. An action added anywhere later without one fails here, with its file.
func TestEveryRecordedActionHasALabel(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	found := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && strings.HasPrefix(name, ".") || name == "node_modules" || name == "static" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_templ.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if rel == "internal/audit/labels.go" || rel == "internal/audit/groups.go" {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		records := strings.HasPrefix(rel, "internal/audit/")
		for _, imp := range f.Imports {
			if strings.HasSuffix(imp.Path.Value, `/internal/audit"`) {
				records = true
			}
		}
		if !records {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			// Whatever its area, a literal given as an event's Action is an action id.
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Action" {
					if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil && dottedID.MatchString(s) {
							if _, seen := found[s]; !seen {
								found[s] = fset.Position(lit.Pos()).String()
							}
						}
					}
				}
				return true
			}
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !dottedID.MatchString(s) || notActions[s] {
				return true
			}
			if area, _, _ := strings.Cut(s, "."); slices.Contains(actionAreas, area) {
				if _, seen := found[s]; !seen {
					found[s] = fset.Position(lit.Pos()).String()
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 50 {
		t.Fatalf("found only %d action ids: is the walk reading the code?", len(found))
	}
	t.Logf("%d action ids", len(found))
	for id, where := range found {
		if !HasActionLabel(id) {
			t.Errorf("%s: action %q has no label in labels.go (ActionLabel would show %q)", where, id, ActionLabel(id))
		}
	}
}

func TestActionLabelFallsBackToWords(t *testing.T) {
	tests := map[string]string{
		"member.role_changed":      "Changed a member's role",
		"canned_response.archived": "Canned response archived",
		"member.2fa_paused":        "Member two-factor paused",
		"x.y":                      "X y",
	}
	for id, want := range tests {
		if got := ActionLabel(id); got != want {
			t.Errorf("ActionLabel(%q) = %q, want %q", id, got, want)
		}
	}
}
