package locksites

import (
	"go/ast"
	"go/types"
	"math/bits"
)

// expr applies the calls of an expression in evaluation order (arguments
// before the call).
func (fl *flow) expr(e ast.Expr, s state) state {
	if e == nil {
		return s
	}
	var calls []*ast.CallExpr
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			ast.Inspect(n.Fun, visit)
			for _, a := range n.Args {
				ast.Inspect(a, visit)
			}
			calls = append(calls, n)
			return false
		}
		return true
	}
	ast.Inspect(e, visit)
	for _, c := range calls {
		s = fl.call(c, s)
	}
	return s
}

// callArgs applies the calls nested in c's receiver and arguments.
func (fl *flow) callArgs(c *ast.CallExpr, s state) state {
	if se, ok := ast.Unparen(c.Fun).(*ast.SelectorExpr); ok {
		s = fl.expr(se.X, s)
	}
	for _, a := range c.Args {
		s = fl.expr(a, s)
	}
	return s
}

// call applies one call (its nested calls already applied): releases,
// then the acquisition it makes, or the end of the path.
func (fl *flow) call(c *ast.CallExpr, s state) state {
	if !s.ok() {
		return s
	}
	if fl.noReturn(c) {
		return state{}
	}
	if rel := fl.releasedBy(c); rel != 0 {
		s = s.each(func(p path) path { return fl.release(rel, p) })
	}
	if i, ok := fl.idx[c]; ok && !fl.f.acqs[i].epoch {
		s = s.each(func(p path) path { p.live |= 1 << i; return p })
	}
	return s
}

// releasedBy returns the classes a call releases: a release primitive's
// lock, or what a kernelsim function (or a local closure) releases of its
// caller's locks.
func (fl *flow) releasedBy(c *ast.CallExpr) classSet {
	if m, recv := fl.l.ksyncMethod(c); m != "" {
		if p, ok := primitives[m]; ok && !p.acquire {
			return fl.l.lockClasses(recv, fl.f, c.Pos(), true)
		}
		return 0
	}
	if callee := fl.l.staticCallee(c); callee != nil {
		return callee.releases
	}
	if id, ok := ast.Unparen(c.Fun).(*ast.Ident); ok {
		if v, ok := fl.l.info.Uses[id].(*types.Var); ok {
			if lit := fl.f.closures[v]; lit != nil {
				return lit.releases
			}
		}
	}
	return 0
}

// release ends the holds of the classes rel on p; a class the function
// does not hold there is a release of its caller's lock (the summary).
func (fl *flow) release(rel classSet, p path) path {
	for r := rel; r != 0; r &= r - 1 {
		c := classSet(1) << bits.TrailingZeros64(uint64(r))
		var held uint64
		for i, a := range fl.f.acqs {
			if p.live&(1<<i) != 0 && a.classes&c != 0 {
				held |= 1 << i
			}
		}
		if held == 0 {
			fl.releases |= c
		}
		p.live &^= held
	}
	return p
}

// ret is a return with state s: deferred releases run, what is still held
// is delegated to the caller.
func (fl *flow) ret(s state) {
	fl.returns = true
	for _, p := range s.paths {
		p = fl.release(p.deferred, p)
		fl.delegated |= p.live
	}
}

// noReturn reports whether a call never returns: t.Fail, t.Internal,
// panic, or a kernelsim function that never returns (bugOn).
func (fl *flow) noReturn(c *ast.CallExpr) bool {
	if isIdent(c.Fun, "panic") {
		return true
	}
	if se, ok := ast.Unparen(c.Fun).(*ast.SelectorExpr); ok {
		if sel := fl.l.info.Selections[se]; sel != nil && sel.Kind() == types.MethodVal {
			m := sel.Obj().(*types.Func)
			if m.Pkg() != nil && m.Pkg().Path() == schedPath && (m.Name() == "Fail" || m.Name() == "Internal") {
				return true
			}
		}
	}
	if callee := fl.l.staticCallee(c); callee != nil {
		return callee.noReturn
	}
	return false
}
