package invnames

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// moduleRoot is the module's directory, seen from this package's.
const moduleRoot = "../.."

// scan finds every invariant name the non-test Go source under root
// reports, with the files (relative to root, slash-separated) that report
// it. A name is reported where
//
//   - a composite literal of type Violation (sched.Violation) sets its
//     Invariant field, or
//   - a builder is called: a function whose parameter is what such a
//     literal sets Invariant to (invariants' violation(name, ...), ksync's
//     Env.fail(t, invariant, ...)), found by the scan itself, transitively.
//
// Each name must be a constant: a string literal, or a string constant of
// the same package or, qualified, of another package of the module. Any
// other expression there is an error: the catalogue could not be checked.
// Calls of a builder are matched by name within its package, and across
// packages when qualified by the package's import name.
func scan(root, module string) (map[string][]string, []error) {
	type file struct {
		rel string
		dir string // package directory, relative to root
		ast *ast.File
	}
	fset := token.NewFileSet()
	var files []file
	consts := map[string]map[string]string{} // package dir -> constant -> value
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		dir := filepath.ToSlash(filepath.Dir(rel))
		files = append(files, file{rel, dir, f})
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							if consts[dir] == nil {
								consts[dir] = map[string]string{}
							}
							consts[dir][n.Name] = s
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, []error{err}
	}
	// importDir maps an import name of file f to a package directory of
	// the module.
	importDir := func(f *ast.File, name string) (string, bool) {
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			rest, ok := strings.CutPrefix(p, module+"/")
			if !ok {
				continue
			}
			local := filepath.Base(rest)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			if local == name {
				return rest, true
			}
		}
		return "", false
	}
	// A value is a name, a parameter of the enclosing function (its
	// index), or an error.
	type value struct {
		name  string
		param int // >= 0: the enclosing function's parameter of that index
	}
	resolve := func(fl file, fn *ast.FuncDecl, e ast.Expr) (value, error) {
		if s, ok := stringLit(e); ok {
			return value{s, -1}, nil
		}
		switch x := e.(type) {
		case *ast.Ident:
			if s, ok := consts[fl.dir][x.Name]; ok {
				return value{s, -1}, nil
			}
			if fn != nil {
				i := 0
				for _, f := range fn.Type.Params.List {
					for _, n := range f.Names {
						if n.Name == x.Name {
							return value{"", i}, nil
						}
						i++
					}
					if len(f.Names) == 0 {
						i++
					}
				}
			}
		case *ast.SelectorExpr:
			if pkg, ok := x.X.(*ast.Ident); ok {
				if dir, ok := importDir(fl.ast, pkg.Name); ok {
					if s, ok := consts[dir][x.Sel.Name]; ok {
						return value{s, -1}, nil
					}
				}
			}
		}
		return value{}, fmt.Errorf("%s: invariant name %s is not a constant", fset.Position(e.Pos()), exprString(e))
	}
	type builder struct {
		dir, name string
		param     int
	}
	uses := map[string][]string{}
	var errs []error
	builders := map[builder]bool{}
	addUse := func(name, rel string) {
		if !slices.Contains(uses[name], rel) {
			uses[name] = append(uses[name], rel)
		}
	}
	// record handles one name-building expression in function fn.
	record := func(fl file, fn *ast.FuncDecl, e ast.Expr) bool {
		v, err := resolve(fl, fn, e)
		switch {
		case err != nil:
			errs = append(errs, err)
		case v.param >= 0:
			b := builder{fl.dir, fn.Name.Name, v.param}
			if !builders[b] {
				builders[b] = true
				return true
			}
		default:
			addUse(v.name, fl.rel)
		}
		return false
	}
	// Pass 1: the Violation literals (and the builders they reveal); then
	// the builder calls until no new builder turns up.
	inspectFuncs := func(fl file, visit func(fn *ast.FuncDecl, n ast.Node)) {
		for _, decl := range fl.ast.Decls {
			fn, _ := decl.(*ast.FuncDecl)
			ast.Inspect(decl, func(n ast.Node) bool {
				if n != nil {
					visit(fn, n)
				}
				return true
			})
		}
	}
	for _, fl := range files {
		inspectFuncs(fl, func(fn *ast.FuncDecl, n ast.Node) {
			cl, ok := n.(*ast.CompositeLit)
			if !ok || !isViolationType(cl.Type) {
				return
			}
			for _, el := range cl.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Invariant" {
						record(fl, fn, kv.Value)
					}
				}
			}
		})
	}
	done := map[*ast.CallExpr]bool{}
	for grew := true; grew; {
		grew = false
		for _, fl := range files {
			inspectFuncs(fl, func(fn *ast.FuncDecl, n ast.Node) {
				call, ok := n.(*ast.CallExpr)
				if !ok || done[call] {
					return
				}
				for b := range builders {
					if !calls(call, b.name, fl.dir == b.dir, func(pkg string) bool {
						d, ok := importDir(fl.ast, pkg)
						return ok && d == b.dir
					}) || b.param >= len(call.Args) {
						continue
					}
					done[call] = true
					if record(fl, fn, call.Args[b.param]) {
						grew = true
					}
				}
			})
		}
	}
	for _, fs := range uses {
		sort.Strings(fs)
	}
	return uses, errs
}

// calls reports whether call calls a function named name: unqualified or
// as a method when local (the builder's own package), or qualified by an
// import name that pkgIs accepts.
func calls(call *ast.CallExpr, name string, local bool, pkgIs func(string) bool) bool {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return local && f.Name == name
	case *ast.SelectorExpr:
		if f.Sel.Name != name {
			return false
		}
		if x, ok := f.X.(*ast.Ident); ok && pkgIs(x.Name) {
			return true
		}
		return local
	}
	return false
}

func isViolationType(e ast.Expr) bool {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name == "Violation"
	case *ast.SelectorExpr:
		return t.Sel.Name == "Violation"
	}
	return false
}

func stringLit(e ast.Expr) (string, bool) {
	if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	return "", false
}

func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	case *ast.CallExpr:
		return exprString(x.Fun) + "(...)"
	}
	return fmt.Sprintf("%T", e)
}

// compare returns the differences between the catalogue and the names the
// source uses.
func compare(cat []Entry, uses map[string][]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range cat {
		if seen[e.Name] {
			out = append(out, fmt.Sprintf("%s: catalogued twice", e.Name))
		}
		seen[e.Name] = true
		files, used := uses[e.Name]
		switch {
		case !used:
			out = append(out, fmt.Sprintf("%s: catalogued but reported nowhere in the source", e.Name))
		case !slices.Equal(sorted(e.Where), files):
			out = append(out, fmt.Sprintf("%s: Where says %v, the source reports it in %v", e.Name, e.Where, files))
		}
		if e.Kind == 0 || e.Checks == "" {
			out = append(out, fmt.Sprintf("%s: needs a Kind and a Checks text", e.Name))
		}
	}
	var names []string
	for n := range uses {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !seen[n] {
			out = append(out, fmt.Sprintf("%s: reported in %v but missing from the catalogue (kernelsim/invnames)", n, uses[n]))
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestCatalogueMatchesSource: every invariant name the source reports is
// catalogued, with the files that report it, and every catalogued name is
// reported somewhere.
func TestCatalogueMatchesSource(t *testing.T) {
	uses, errs := scan(moduleRoot, "mmrace")
	for _, err := range errs {
		t.Error(err)
	}
	if len(uses) < 20 {
		t.Fatalf("the scan found only %d names: %v", len(uses), uses)
	}
	for _, d := range compare(Catalogue, uses) {
		t.Error(d)
	}
}

// TestScanFixture: the scan finds literals, constants of its own and of
// other packages, builders and builders of builders; and it reports the
// names it cannot resolve. testdata/scan is a module of its own.
func TestScanFixture(t *testing.T) {
	uses, errs := scan("testdata/scan", "fixture")
	want := map[string][]string{
		"literal-name":   {"a/a.go"},
		"own-constant":   {"a/a.go"},
		"other-constant": {"a/a.go"},
		"via-builder":    {"a/a.go"},
		"via-wrapper":    {"a/a.go"},
		"qualified-call": {"b/b.go"},
	}
	for n, files := range want {
		if !slices.Equal(uses[n], files) {
			t.Errorf("%s: got %v, want %v", n, uses[n], files)
		}
	}
	for n := range uses {
		if _, ok := want[n]; !ok {
			t.Errorf("unexpected name %s in %v", n, uses[n])
		}
	}
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2 (a variable and a function call): %v", len(errs), errs)
	}
	for i, want := range []string{"a.go:28:27: invariant name pick(...) is not a constant", "a.go:30:12: invariant name name is not a constant"} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d: %v, want %q", i, errs[i], want)
		}
	}
}

// TestCompareFindsDifferences: each kind of difference between catalogue
// and source is reported.
func TestCompareFindsDifferences(t *testing.T) {
	cat := []Entry{
		{"used", Semantic, "x", []string{"a.go"}},
		{"unused", Semantic, "x", []string{"a.go"}},
		{"moved", Rule, "x", []string{"a.go"}},
		{"bare", 0, "", []string{"a.go"}},
		{"used", Semantic, "x", []string{"a.go"}},
	}
	uses := map[string][]string{"used": {"a.go"}, "moved": {"b.go"}, "bare": {"a.go"}, "new": {"c.go"}}
	got := strings.Join(compare(cat, uses), "\n")
	for _, want := range []string{
		"unused: catalogued but reported nowhere",
		"moved: Where says [a.go], the source reports it in [b.go]",
		"bare: needs a Kind and a Checks text",
		"used: catalogued twice",
		"new: reported in [c.go] but missing from the catalogue",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 5 {
		t.Errorf("%d differences, want 5:\n%s", n, got)
	}
}

// TestCorpusNamesCatalogued: every invariant a corpus scenario expects is
// catalogued (an expectation of a name nothing reports can never pass).
func TestCorpusNamesCatalogued(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(moduleRoot, "corpus", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	re := regexp.MustCompile(`(?m)^[a-z-]+ in (?:setup|run|quiescent|memory|check|exit): ([a-z-]+)$`)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, ok := Lookup(m[1]); !ok {
				t.Errorf("%s expects %s, which is not catalogued", filepath.Base(f), m[1])
			}
		}
	}
	if n == 0 {
		t.Fatal("no expected verdicts found in the corpus")
	}
}

// TestKinds: the outcome-class answers of the kinds.
func TestKinds(t *testing.T) {
	for _, k := range []Kind{Semantic, Rule} {
		if !k.Finding() {
			t.Errorf("%s: not a finding", k)
		}
	}
	for _, k := range []Kind{HarnessLimit, Internal, Invalid} {
		if k.Finding() {
			t.Errorf("%s: a finding", k)
		}
	}
	if got := Names(Rule); !slices.Equal(got, []string{LockOrder, Lockdep, LockRule, MoveOrderWitness, TempStackNoMigrationEntry}) {
		t.Errorf("rule names: %v", got)
	}
}
