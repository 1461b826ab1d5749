package locksites

import (
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strconv"
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
