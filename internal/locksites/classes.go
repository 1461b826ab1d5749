package locksites

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"math/bits"
	"slices"
	"strings"
)

// classSet is a set of lock classes, by their index in loader.classes.
type classSet uint64

func (l *loader) classBit(name string) classSet {
	i := slices.Index(l.classes, name)
	if i < 0 {
		i = len(l.classes)
		l.classes = append(l.classes, name)
		if i >= 64 {
			panic("mmrace internal error: more than 64 lock classes")
		}
	}
	return 1 << i
}

func (l *loader) classNames(s classSet) []string {
	var out []string
	for s != 0 {
		i := bits.TrailingZeros64(uint64(s))
		s &= s - 1
		out = append(out, l.classes[i])
	}
	slices.Sort(out)
	return out
}

// lockClasses resolves the lock a primitive is called on (the receiver
// expression recv, written in function in at position at) to its classes:
// by the receiver's type for mmap_lock, the VMA lock and RCU; for rwsems
// and mutexes by following the value back — through fields (every value
// ever stored in the field), local variables (the assignment nearest
// before the use), calls of kernelsim functions (their returned values) —
// to the ksync constructor call whose class argument decides.
//
// A release passes any: a local variable then stands for every value it
// is ever assigned (the release after "lock = a; ... lock = b" may drop
// either).
func (l *loader) lockClasses(recv ast.Expr, in *fn, at token.Pos, any bool) classSet {
	switch typeName(l.info.TypeOf(recv)) {
	case "MmapLock":
		return l.classBit("mmap_lock")
	case "VMALock":
		return l.classBit("vma_lock")
	case "RCU":
		return l.classBit("rcu")
	}
	return l.origin(recv, in, at, any, 0)
}

// typeName is the name of a ksync type (through a pointer), or "".
func typeName(t types.Type) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == ksyncPath {
		return n.Obj().Name()
	}
	return ""
}

func (l *loader) origin(e ast.Expr, in *fn, at token.Pos, any bool, depth int) classSet {
	if depth > 12 {
		return 0
	}
	switch typeName(l.info.TypeOf(e)) {
	case "MmapLock":
		return l.classBit("mmap_lock")
	case "VMALock":
		return l.classBit("vma_lock")
	}
	switch e := ast.Unparen(e).(type) {
	case *ast.SelectorExpr:
		sel := l.info.Selections[e]
		if sel == nil || sel.Kind() != types.FieldVal {
			if v, ok := l.info.Uses[e.Sel].(*types.Var); ok { // a package variable of another package
				return l.pkgVarClass(v)
			}
			return 0
		}
		var s classSet
		for _, fa := range l.fields[sel.Obj().(*types.Var)] {
			s |= l.origin(fa.rhs, fa.in, fa.rhs.Pos(), false, depth+1)
		}
		return s
	case *ast.Ident:
		v, ok := l.info.Uses[e].(*types.Var)
		if !ok {
			return 0
		}
		if in != nil {
			if as := in.locals[v]; len(as) > 0 {
				if !any {
					as = []assign{nearest(as, at)}
				}
				var s classSet
				for _, a := range as {
					s |= l.origin(a.rhs, in, a.pos, false, depth+1)
				}
				return s
			}
		}
		return l.pkgVarClass(v)
	case *ast.CallExpr:
		if m, recv := l.ksyncMethod(e); m != "" {
			switch m {
			case "Env.NewRwsem", "Env.NewMutex":
				if len(e.Args) == 2 {
					return l.classExpr(e.Args[1])
				}
			case "MmapLock.Rwsem":
				return l.classBit("mmap_lock")
			}
			_ = recv
			return 0
		}
		callee := l.staticCallee(e)
		if callee == nil {
			return 0
		}
		var s classSet
		for _, r := range callee.returns {
			if len(r.Results) > 0 {
				s |= l.origin(r.Results[0], callee, r.Pos(), false, depth+1)
			}
		}
		return s
	}
	return 0
}

// nearest returns the assignment nearest before at, or the first one.
func nearest(as []assign, at token.Pos) assign {
	best := as[0]
	for _, a := range as {
		if a.pos < at {
			best = a
		}
	}
	return best
}

// classExpr resolves a class argument: ksync.ClassX (by ksync's source) or
// a kernelsim package variable initialised with ksync.NewClass(id, "name",
// ...).
func (l *loader) classExpr(e ast.Expr) classSet {
	switch e := ast.Unparen(e).(type) {
	case *ast.SelectorExpr:
		if name, ok := l.ksyncClasses[e.Sel.Name]; ok && isIdent(e.X, "ksync") {
			return l.classBit(name)
		}
	case *ast.Ident:
		if v, ok := l.info.Uses[e].(*types.Var); ok {
			return l.pkgVarClass(v)
		}
	}
	return 0
}

// pkgVarClass resolves a kernelsim package variable holding a class.
func (l *loader) pkgVarClass(v *types.Var) classSet {
	init, ok := l.pkgVars[v]
	if !ok {
		return 0
	}
	c, ok := ast.Unparen(init).(*ast.CallExpr)
	if !ok {
		return l.classExpr(init)
	}
	if se, ok := c.Fun.(*ast.SelectorExpr); ok && se.Sel.Name == "NewClass" && len(c.Args) >= 2 {
		if tv, ok := l.info.Types[c.Args[1]]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
			return l.classBit(constant.StringVal(tv.Value))
		}
	}
	return 0
}

// className is the one class of a site, or "?" followed by the candidates
// when the scan could not decide (a test fails on it).
func (l *loader) className(s classSet) string {
	names := l.classNames(s)
	if len(names) == 1 {
		return names[0]
	}
	return "?" + strings.Join(names, "|")
}
