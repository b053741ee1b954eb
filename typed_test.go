package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// typedFields are the fields whose values are typed words (journal.Kind and Answer,
// charge.Phase and Reason, localapi.MessageKind): product code compares them with the
// constants, never with a string literal that a rename would silently leave behind.
var typedFields = map[string]bool{"Kind": true, "State": true, "Phase": true, "Answer": true, "Reason": true}

// TestNoTypedWordAsLiteral holds product code (tests may spell the words of the wire and
// the disk out, to check them) to comparing typed states, kinds and answers with their
// constants: no `in.Kind == "advance"`, no `m.Kind != "idle_close"`. The ledger's
// notification kinds (api.Notification.Kind, which `up` prints) are the ledger's words,
// not these types, and are not held to it.
func TestNoTypedWordAsLiteral(t *testing.T) {
	fset := token.NewFileSet()
	var files int
	for _, dir := range []string{"agent", "charge", "sim", "ctl", "platform", "config", "clock", "cli"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files++
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BinaryExpr:
					if n.Op != token.EQL && n.Op != token.NEQ {
						return true
					}
					if field, ok := typedField(n.X); ok && isWord(n.Y) {
						t.Errorf("%s: got %s compared with %s, want its constant", fset.Position(n.Pos()), field, n.Y.(*ast.BasicLit).Value)
					}
					if field, ok := typedField(n.Y); ok && isWord(n.X) {
						t.Errorf("%s: got %s compared with %s, want its constant", fset.Position(n.Pos()), field, n.X.(*ast.BasicLit).Value)
					}
				case *ast.SwitchStmt:
					field, ok := typedField(n.Tag)
					if !ok {
						return true
					}
					for _, c := range n.Body.List {
						for _, e := range c.(*ast.CaseClause).List {
							if isWord(e) {
								t.Errorf("%s: got a case %s on %s, want its constant", fset.Position(e.Pos()), e.(*ast.BasicLit).Value, field)
							}
						}
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 100 {
		t.Fatalf("got %d files read, want the product's (is the test run from the module's root?)", files)
	}
}

// typedField reports whether e is x.F for one of typedFields, and names it.
func typedField(e ast.Expr) (string, bool) {
	s, ok := e.(*ast.SelectorExpr)
	if !ok || !typedFields[s.Sel.Name] {
		return "", false
	}
	return "." + s.Sel.Name, true
}

// isWord reports whether e is a non-empty string literal: "" means "not set" for every
// one of these types.
func isWord(e ast.Expr) bool {
	l, ok := e.(*ast.BasicLit)
	return ok && l.Kind == token.STRING && l.Value != `""` && l.Value != "``"
}
