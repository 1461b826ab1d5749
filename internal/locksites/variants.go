package locksites

import (
	"go/ast"
	"go/token"
)

// variantGuards maps the calls of x that run only under a variant (inside
// the then-branch of "if ... Variants.Has(V) ..." with the Has call a
// positive conjunct, or the else-branch of "if !...Variants.Has(V)") to V.
func (l *loader) variantGuards(x *fn) map[*ast.CallExpr]string {
	out := map[*ast.CallExpr]string{}
	var walk func(n ast.Node, v string)
	walk = func(n ast.Node, v string) {
		ast.Inspect(n, func(m ast.Node) bool {
			switch m := m.(type) {
			case *ast.FuncLit:
				return m == x.lit
			case *ast.IfStmt:
				if m.Init != nil {
					walk(m.Init, v)
				}
				walk(m.Cond, v)
				then, els := v, v
				if name := positiveHas(m.Cond); name != "" {
					then = name
				}
				if u, ok := ast.Unparen(m.Cond).(*ast.UnaryExpr); ok && u.Op == token.NOT {
					if name := hasCall(u.X); name != "" {
						els = name
					}
				}
				walk(m.Body, then)
				if m.Else != nil {
					walk(m.Else, els)
				}
				return false
			case *ast.CallExpr:
				if v != "" {
					out[m] = v
				}
			}
			return true
		})
	}
	walk(x.body, "")
	return out
}

// positiveHas returns V when cond is a conjunction with a conjunct
// X.Variants.Has("V").
func positiveHas(cond ast.Expr) string {
	switch e := ast.Unparen(cond).(type) {
	case *ast.BinaryExpr:
		if e.Op == token.LAND {
			if v := positiveHas(e.X); v != "" {
				return v
			}
			return positiveHas(e.Y)
		}
	case *ast.CallExpr:
		return hasCall(e)
	}
	return ""
}

func hasCall(e ast.Expr) string {
	c, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || len(c.Args) != 1 {
		return ""
	}
	se, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || se.Sel.Name != "Has" {
		return ""
	}
	if inner, ok := se.X.(*ast.SelectorExpr); !ok || inner.Sel.Name != "Variants" {
		return ""
	}
	if lit, ok := c.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
		return lit.Value[1 : len(lit.Value)-1]
	}
	return ""
}
