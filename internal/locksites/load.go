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
	"slices"
	"strconv"
	"strings"
)

// ksyncPath and kernelsimPath are the import paths the scan knows.
const (
	kernelsimPath = "mmrace/kernelsim"
	ksyncPath     = "mmrace/kernelsim/ksync"
	schedPath     = "mmrace/kernelsim/sched"
)

// fn is one function of kernelsim: a declaration or a function literal.
type fn struct {
	name   string
	decl   *ast.FuncDecl
	lit    *ast.FuncLit
	body   *ast.BlockStmt
	obj    *types.Func // declarations only
	params []*types.Var
	parent *fn // the function a literal is written in
	doc    string
	file   string // base name

	// locals maps each local variable to its assignments, in source order.
	locals map[*types.Var][]assign
	// closures maps local variables holding a function literal to it.
	closures map[*types.Var]*fn
	returns  []*ast.ReturnStmt

	// Filled by the flow analysis (flow.go).
	acqs       []*acq
	delegClass classSet // classes of the holds it may return with
	releases   classSet // classes it may release without having taken them
	noReturn   bool
	delegated  map[*ast.CallExpr]bool
}

// assign is one assignment of a local variable: its right-hand side
// (index is the result used, for "a, b := f()").
type assign struct {
	pos    token.Pos
	rhs    ast.Expr
	index  int
	define bool // the variable's definition (:= or var)
}

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

// collect builds the function table and the indexes of assignments.
func (l *loader) collect() {
	bare := map[string]int{}
	for _, f := range l.files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				bare[fd.Name.Name]++
			}
		}
	}
	for _, f := range l.files {
		file := filepath.Base(l.fset.Position(f.Pos()).Filename)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Body == nil {
					continue
				}
				name := d.Name.Name
				if bare[name] > 1 && d.Recv != nil {
					name = recvName(d.Recv.List[0].Type) + "." + name
				}
				obj, _ := l.info.Defs[d.Name].(*types.Func)
				x := &fn{name: name, decl: d, body: d.Body, obj: obj, doc: d.Doc.Text(), file: file}
				if obj != nil {
					sig := obj.Type().(*types.Signature)
					for i := 0; i < sig.Params().Len(); i++ {
						x.params = append(x.params, sig.Params().At(i))
					}
					l.byObj[obj] = x
				}
				l.funcs = append(l.funcs, x)
				l.collectLits(x, d.Body)
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					if vs, ok := sp.(*ast.ValueSpec); ok {
						for i, n := range vs.Names {
							if v, ok := l.info.Defs[n].(*types.Var); ok && i < len(vs.Values) {
								l.pkgVars[v] = vs.Values[i]
							}
						}
					}
				}
			}
		}
	}
	for _, x := range l.funcs {
		l.indexBody(x)
	}
	// Field values stored at package level (composite literals in var
	// initializers).
	for _, f := range l.files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok {
				ast.Inspect(g, func(n ast.Node) bool { l.noteFields(n, nil); return true })
			}
		}
	}
}

func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	case *ast.IndexExpr:
		return recvName(e.X)
	}
	return "?"
}

// collectLits adds the function literals of body, named as the compiler
// names closures (outer.func1, outer.func2, nested ones outer.func1.1).
func (l *loader) collectLits(parent *fn, body ast.Node) {
	n := 0
	ast.Inspect(body, func(nd ast.Node) bool {
		lit, ok := nd.(*ast.FuncLit)
		if !ok {
			return true
		}
		n++
		name := parent.name + ".func" + strconv.Itoa(n)
		if parent.lit != nil {
			name = parent.name + "." + strconv.Itoa(n)
		}
		x := &fn{name: name, lit: lit, body: lit.Body, parent: parent, file: parent.file}
		if sig, ok := l.info.TypeOf(lit).(*types.Signature); ok {
			for i := 0; i < sig.Params().Len(); i++ {
				x.params = append(x.params, sig.Params().At(i))
			}
		}
		l.byLit[lit] = x
		l.funcs = append(l.funcs, x)
		l.collectLits(x, lit.Body)
		return false
	})
}

// inspect walks a function's own body: function literals are skipped
// (they are functions of their own).
func inspect(x *fn, visit func(ast.Node) bool) {
	ast.Inspect(x.body, func(n ast.Node) bool {
		if lit, ok := n.(*ast.FuncLit); ok && lit != x.lit {
			return false
		}
		return visit(n)
	})
}

// indexBody records x's local assignments, closures, returns, field
// stores and calls.
func (l *loader) indexBody(x *fn) {
	x.locals, x.closures = map[*types.Var][]assign{}, map[*types.Var]*fn{}
	local := func(id *ast.Ident) *types.Var {
		o := l.info.Defs[id]
		if o == nil {
			o = l.info.Uses[id]
		}
		v, _ := o.(*types.Var)
		if v == nil || v.IsField() || v.Parent() == nil || v.Parent() == l.pkgScope() {
			return nil
		}
		return v
	}
	note := func(lhs []ast.Expr, rhs []ast.Expr, pos token.Pos) {
		for i, e := range lhs {
			id, ok := e.(*ast.Ident)
			if !ok {
				continue
			}
			v := local(id)
			if v == nil {
				continue
			}
			def := l.info.Defs[id] != nil
			switch {
			case len(rhs) == len(lhs):
				x.locals[v] = append(x.locals[v], assign{pos: pos, rhs: rhs[i], define: def})
				if lit, ok := rhs[i].(*ast.FuncLit); ok {
					x.closures[v] = l.byLit[lit]
				}
			case len(rhs) == 1:
				x.locals[v] = append(x.locals[v], assign{pos: pos, rhs: rhs[0], index: i, define: def})
			}
		}
	}
	inspect(x, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			note(n.Lhs, n.Rhs, n.Pos())
		case *ast.ValueSpec:
			var lhs []ast.Expr
			for _, id := range n.Names {
				lhs = append(lhs, id)
			}
			note(lhs, n.Values, n.Pos())
		case *ast.ReturnStmt:
			x.returns = append(x.returns, n)
		case *ast.CallExpr:
			l.callIn[n] = x
			if callee := l.staticCallee(n); callee != nil {
				l.callers[callee] = append(l.callers[callee], n)
			}
		}
		l.noteFields(n, x)
		return true
	})
}

func (l *loader) pkgScope() *types.Scope { return l.pkg.Scope() }

// noteFields records values stored into struct fields: x.f = v and
// composite literal keys f: v.
func (l *loader) noteFields(n ast.Node, in *fn) {
	switch n := n.(type) {
	case *ast.AssignStmt:
		if len(n.Lhs) != len(n.Rhs) {
			return
		}
		for i, e := range n.Lhs {
			if se, ok := e.(*ast.SelectorExpr); ok {
				if sel := l.info.Selections[se]; sel != nil && sel.Kind() == types.FieldVal {
					v := sel.Obj().(*types.Var)
					l.fields[v] = append(l.fields[v], fieldAssign{rhs: n.Rhs[i], in: in})
				}
			}
		}
	case *ast.CompositeLit:
		for _, el := range n.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			if id, ok := kv.Key.(*ast.Ident); ok {
				if v, ok := l.info.Uses[id].(*types.Var); ok && v.IsField() {
					l.fields[v] = append(l.fields[v], fieldAssign{rhs: kv.Value, in: in})
				}
			}
		}
	}
}

// staticCallee returns the kernelsim function a call calls, or nil (a call
// of another package, of a function value, of a method through an
// interface).
func (l *loader) staticCallee(c *ast.CallExpr) *fn {
	var id *ast.Ident
	switch f := ast.Unparen(c.Fun).(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		if sel := l.info.Selections[f]; sel != nil && sel.Kind() != types.MethodVal {
			return nil
		}
		id = f.Sel
	default:
		return nil
	}
	if o, ok := l.info.Uses[id].(*types.Func); ok {
		return l.byObj[o]
	}
	return nil
}

// ksyncMethod returns "Type.Method" when c calls a method of a ksync type.
func (l *loader) ksyncMethod(c *ast.CallExpr) (string, ast.Expr) {
	se, ok := ast.Unparen(c.Fun).(*ast.SelectorExpr)
	if !ok {
		return "", nil
	}
	sel := l.info.Selections[se]
	if sel == nil || sel.Kind() != types.MethodVal {
		return "", nil
	}
	m := sel.Obj().(*types.Func)
	if m.Pkg() == nil || m.Pkg().Path() != ksyncPath {
		return "", nil
	}
	recv := sel.Recv()
	if p, ok := recv.(*types.Pointer); ok {
		recv = p.Elem()
	}
	named, ok := recv.(*types.Named)
	if !ok {
		return "", nil
	}
	return named.Obj().Name() + "." + m.Name(), se.X
}

// pos returns the position (base name and line) of a node.
func (l *loader) pos(n ast.Node) Pos {
	p := l.fset.Position(n.Pos())
	return Pos{File: filepath.Base(p.Filename), Line: p.Line}
}

// sortedFuncs returns the functions callees first where the call graph
// allows (a post-order of it), so that one pass of the fixpoint sees most
// summaries already computed.
func (l *loader) sortedFuncs() []*fn {
	seen := map[*fn]bool{}
	var out []*fn
	var visit func(x *fn)
	visit = func(x *fn) {
		if seen[x] {
			return
		}
		seen[x] = true
		inspect(x, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				if callee := l.staticCallee(c); callee != nil {
					visit(callee)
				}
			}
			return true
		})
		out = append(out, x)
	}
	fs := slices.Clone(l.funcs)
	for _, x := range fs {
		visit(x)
	}
	return out
}
