package locksites

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ksyncPath and kernelsimPath are the import paths the scan knows.
const (
	kernelsimPath = "mmrace/kernelsim"
	ksyncPath     = "mmrace/kernelsim/ksync"
	schedPath     = "mmrace/kernelsim/sched"
)

// loader holds the parsed and type-checked kernelsim package.
type loader struct {
	dir     string
	fset    *token.FileSet
	files   []*ast.File
	info    *types.Info
	pkg     *types.Package
	funcs   []*fn
	byObj   map[*types.Func]*fn
	byLit   map[*ast.FuncLit]*fn
	fields  map[*types.Var][]fieldAssign // struct fields to the values stored in them
	pkgVars map[*types.Var]ast.Expr      // package-level variables to their initializers
	// ksyncClasses maps ksync's class variables (ClassPTL) to their names
	// ("ptl"), read from ksync's own source.
	ksyncClasses map[string]string
	classes      []string // class names by classSet bit
	callers      map[*fn][]*ast.CallExpr
	callIn       map[*ast.CallExpr]*fn
}

type fieldAssign struct {
	rhs ast.Expr
	in  *fn // the function it is written in, nil at package level
}

// Load reads the kernelsim package in dir (non-test files), type-checks it
// against the export data of its dependencies (go list -export) and finds
// its acquisition sites.
func Load(dir string) (*Sites, error) {
	l := &loader{dir: dir, fset: token.NewFileSet(), byObj: map[*types.Func]*fn{}, byLit: map[*ast.FuncLit]*fn{},
		fields: map[*types.Var][]fieldAssign{}, pkgVars: map[*types.Var]ast.Expr{}, callers: map[*fn][]*ast.CallExpr{}, callIn: map[*ast.CallExpr]*fn{}}
	if err := l.parse(); err != nil {
		return nil, err
	}
	if err := l.check(); err != nil {
		return nil, err
	}
	if err := l.readKsyncClasses(); err != nil {
		return nil, err
	}
	l.collect()
	if err := l.analyze(); err != nil {
		return nil, err
	}
	return l.sites()
}

func (l *loader) parse() error {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(l.fset, filepath.Join(l.dir, n), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name != "kernelsim" {
			return fmt.Errorf("%s: package %s, want kernelsim (is %s the kernelsim source?)", n, f.Name.Name, l.dir)
		}
		l.files = append(l.files, f)
	}
	if len(l.files) == 0 {
		return fmt.Errorf("%s: no Go files", l.dir)
	}
	return nil
}

// check type-checks the package; dependencies come from their export data,
// which go list -export builds (or finds in the build cache).
func (l *loader) check() error {
	cmd := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", ".")
	cmd.Dir = l.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go list -export in %s: %v: %s", l.dir, err, strings.TrimSpace(stderr.String()))
	}
	exports := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if p, e, ok := strings.Cut(sc.Text(), "\t"); ok && e != "" {
			exports[p] = e
		}
	}
	imp := importer.ForCompiler(l.fset, "gc", func(path string) (io.ReadCloser, error) {
		e, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(e)
	})
	l.info = &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf := types.Config{Importer: imp}
	pkg, err := conf.Check(kernelsimPath, l.fset, l.files, l.info)
	if err != nil {
		return fmt.Errorf("type-checking %s: %v", l.dir, err)
	}
	l.pkg = pkg
	return nil
}

// readKsyncClasses reads the names of ksync's class variables from
// ksync's source (its class.go and every other non-test file): a package
// variable initialised with &Class{..., Name: "x", ...}.
func (l *loader) readKsyncClasses() error {
	dir := filepath.Join(l.dir, "ksync")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	l.ksyncClasses = map[string]string{}
	fset := token.NewFileSet()
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, v := range vs.Values {
					u, ok := v.(*ast.UnaryExpr)
					if !ok {
						continue
					}
					cl, ok := u.X.(*ast.CompositeLit)
					if !ok || !isIdent(cl.Type, "Class") {
						continue
					}
					for _, el := range cl.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "Name") {
							if s, ok := kv.Value.(*ast.BasicLit); ok {
								l.ksyncClasses[vs.Names[i].Name], _ = strconv.Unquote(s.Value)
							}
						}
					}
				}
			}
		}
	}
	if len(l.ksyncClasses) == 0 {
		return fmt.Errorf("%s: no lock classes found", dir)
	}
	return nil
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
