package locksites

import (
	"go/ast"
	"go/token"
	"go/types"
)

func (fl *flow) isTry(c *ast.CallExpr) bool {
	i, ok := fl.idx[c]
	return ok && fl.f.acqs[i].try
}

// cond splits s by a condition into the states where it is true and false.
func (fl *flow) cond(e ast.Expr, s state) (t, f state) {
	e = ast.Unparen(e)
	switch e := e.(type) {
	case *ast.UnaryExpr:
		if e.Op == token.NOT {
			t, f = fl.cond(e.X, s)
			return f, t
		}
	case *ast.BinaryExpr:
		switch e.Op {
		case token.LAND:
			t1, f1 := fl.cond(e.X, s)
			t2, f2 := fl.cond(e.Y, t1)
			return t2, join(f1, f2)
		case token.LOR:
			t1, f1 := fl.cond(e.X, s)
			t2, f2 := fl.cond(e.Y, f1)
			return join(t1, t2), f2
		}
	case *ast.CallExpr:
		if fl.isTry(e) {
			s = fl.callArgs(e, s)
			bit := uint64(1) << fl.idx[e]
			return s.each(func(p path) path { p.live |= bit; return p }), s
		}
	}
	if key, neg, pure := fl.pure(e); pure {
		for _, p := range s.paths {
			switch v, known := p.fact(key); {
			case !known:
				t, f = t.add(p.with(key, !neg)), f.add(p.with(key, neg))
			case v != neg:
				t = t.add(p)
			default:
				f = f.add(p)
			}
		}
	} else {
		s = fl.expr(e, s)
		t, f = s, s
	}
	// A delegating call's result tested against nil (or false) holds
	// nothing on that branch.
	none := func(s state, bits uint64) state {
		return s.each(func(p path) path { p.live &^= bits; return p })
	}
	switch e := e.(type) {
	case *ast.BinaryExpr:
		if bits, ok := fl.nilTest(e); ok {
			if e.Op == token.EQL {
				return none(t, bits), f
			}
			return t, none(f, bits)
		}
	case *ast.Ident:
		if v, ok := fl.l.info.Uses[e].(*types.Var); ok && fl.ties[v] != 0 {
			return t, none(f, fl.ties[v])
		}
	}
	return t, f
}

// pure reports whether a condition is a fact that stays true while the
// function runs: no calls but Variants.Has, variables assigned at most
// once, field paths the function never assigns. key names it; neg says
// that e is the negation of key ("a == b" is the negation of "a != b").
func (fl *flow) pure(e ast.Expr) (key string, neg, ok bool) {
	ok = true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if hasCall(n) == "" {
				ok = false
			}
			return false
		case *ast.FuncLit, *ast.IndexExpr, *ast.StarExpr:
			ok = false
		case *ast.SelectorExpr:
			if fl.assigned[types.ExprString(n)] {
				ok = false
			}
		case *ast.Ident:
			if v, isVar := fl.l.info.Uses[n].(*types.Var); isVar && !v.IsField() && !fl.stable[v] {
				ok = false
			}
		}
		return ok
	})
	if !ok {
		return "", false, false
	}
	if b, isBin := e.(*ast.BinaryExpr); isBin && b.Op == token.EQL {
		return types.ExprString(b.X) + " != " + types.ExprString(b.Y), true, true
	}
	return types.ExprString(e), false, true
}

// nilTest recognises "x == nil" and "x != nil" for a variable x holding a
// delegating call's result.
func (fl *flow) nilTest(e *ast.BinaryExpr) (uint64, bool) {
	if e.Op != token.EQL && e.Op != token.NEQ {
		return 0, false
	}
	x, y := e.X, e.Y
	if isIdent(x, "nil") {
		x, y = y, x
	}
	id, ok := ast.Unparen(x).(*ast.Ident)
	if !ok || !isIdent(y, "nil") {
		return 0, false
	}
	if v, ok := fl.l.info.Uses[id].(*types.Var); ok && fl.ties[v]|fl.recvs[v] != 0 {
		return fl.ties[v] | fl.recvs[v], true
	}
	return 0, false
}
