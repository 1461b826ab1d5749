package locksites

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"regexp"
	"slices"
	"strings"
)

// sites enumerates the chains of every acquisition that is not delegated
// (the outermost line of a site), or that is delegated by a function no
// kernelsim code calls (the chain ends there, as at run time).
func (l *loader) sites() (*Sites, error) {
	ss := &Sites{Dir: l.dir, delegated: map[Pos]bool{}, funcLines: map[string]Pos{}, deferred: l.deferredCalls()}
	for _, x := range l.funcs {
		if x.decl != nil && x.decl.Recv != nil && recvName(x.decl.Recv.List[0].Type) == "Kernel" {
			ss.funcLines[x.decl.Name.Name] = l.pos(x.decl)
		}
	}
	for _, x := range l.funcs {
		for _, a := range x.acqs {
			if x.delegated[a.call] {
				ss.delegated[l.pos(a.call)] = true
			}
		}
	}
	for _, x := range l.funcs {
		for _, a := range x.acqs {
			if x.delegated[a.call] && len(l.callers[x]) > 0 {
				continue
			}
			for _, c := range l.inner(a, 0) {
				ss.List = append(ss.List, l.site(c))
			}
		}
	}
	fs, err := l.flushSites() // flushsites.go
	if err != nil {
		return nil, err
	}
	ss.List = append(ss.List, fs...)
	return ss, ss.index()
}

// deferredCalls maps each call of a declared kernelsim function that a
// declared kernelsim function defers, by the run-time names of the two, to
// the position of the call, which is where the static chains put it. At
// run time the callee's caller frame shows the line the function returns
// at instead (Identify). A pair whose callee is also called directly, or
// deferred twice, is left out: its frames could not be told apart.
func (l *loader) deferredCalls() map[[2]string]Pos {
	out := map[[2]string]Pos{}
	drop := map[[2]string]bool{} // pairs also called directly, or deferred twice
	for _, x := range l.funcs {
		if x.obj == nil {
			continue
		}
		deferred := map[*ast.CallExpr]bool{}
		var calls []*ast.CallExpr
		inspect(x, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.DeferStmt:
				deferred[n.Call] = true
			case *ast.CallExpr:
				calls = append(calls, n)
			}
			return true
		})
		for _, c := range calls {
			callee := l.staticCallee(c)
			if callee == nil || callee.obj == nil {
				continue
			}
			k := [2]string{runtimeName(x.obj), runtimeName(callee.obj)}
			if _, dup := out[k]; dup || !deferred[c] {
				drop[k] = true
				continue
			}
			out[k] = l.pos(c)
		}
	}
	for k := range drop {
		delete(out, k)
	}
	return out
}

// runtimeName is the name runtime.Frame.Function gives kernelsim function
// f: "mmrace/kernelsim.(*Kernel).mmput", "mmrace/kernelsim.recvName".
func runtimeName(f *types.Func) string {
	name := f.Name()
	if recv := f.Type().(*types.Signature).Recv(); recv != nil {
		t, ptr := recv.Type(), false
		if p, ok := t.(*types.Pointer); ok {
			t, ptr = p.Elem(), true
		}
		if n, ok := t.(*types.Named); ok {
			r := n.Obj().Name()
			if ptr {
				r = "(*" + r + ")"
			}
			name = r + "." + name
		}
	}
	return kernelsimPath + "." + name
}

// inner returns the chains of acquisitions a stands for, innermost first:
// a itself for a primitive, else each delegated acquisition of the called
// function's chains followed by a.
func (l *loader) inner(a *acq, depth int) [][]*acq {
	if a.prim != "" {
		return [][]*acq{{a}}
	}
	if depth > 8 {
		panic("mmrace internal error: delegation deeper than 8 calls at " + l.pos(a.call).String())
	}
	var out [][]*acq
	for _, b := range a.callee.acqs {
		if !a.callee.delegated[b.call] {
			continue
		}
		for _, c := range l.inner(b, depth+1) {
			out = append(out, append(slices.Clone(c), a))
		}
	}
	return out
}

func (l *loader) site(chain []*acq) *Site {
	a0 := chain[0]
	p := primitives[a0.prim]
	s := &Site{Primitive: a0.prim, Trylock: p.try, Write: p.write, Class: l.className(a0.classes), Func: chain[len(chain)-1].in.name}
	for i, a := range chain {
		s.Chain = append(s.Chain, l.pos(a.call))
		if i < len(chain)-1 {
			s.Via = append(s.Via, a.in.name)
		}
		if s.Variant == "" {
			s.Variant = a.variant
		}
	}
	s.Kernel = l.kernelOf(chain)
	return s
}

// kernelOf resolves the site string of a chain's acquisition: a constant;
// through a parameter of a delegating function, the argument its caller
// passes; else the kernel function the doc comment of the function where
// the value is unknown says it mirrors; else that function's name.
func (l *loader) kernelOf(chain []*acq) string {
	e := chain[0].call.Args[len(chain[0].call.Args)-1]
	for lvl := 0; ; lvl++ {
		in := chain[lvl].in
		vals, param := l.strings(e, in, e.Pos(), 0)
		if len(vals) > 0 {
			slices.Sort(vals)
			return strings.Join(slices.Compact(vals), "|")
		}
		if param >= 0 && lvl+1 == len(chain) {
			// A parameter of the outermost function: what its doc comment
			// says it mirrors, else what its callers pass.
			if k := docKernel(in); k != "" {
				return k
			}
			if vals := l.callerStrings(in, param); len(vals) > 0 {
				slices.Sort(vals)
				return strings.Join(slices.Compact(vals), "|")
			}
		}
		if param < 0 || lvl+1 == len(chain) {
			if k := docKernel(in); k != "" {
				return k
			}
			return in.name
		}
		e = chain[lvl+1].call.Args[param]
	}
}

// docKernelRE finds the kernel function a doc comment names: "x is
// kernel_fn()", "x mirrors mm/file.c kernel_fn()".
var docKernelRE = regexp.MustCompile(`^\S+ (?:is|mirrors) (?:[\w/.-]+\.[ch] )?(\w+)\(`)

func docKernel(x *fn) string {
	for y := x; y != nil; y = y.parent {
		if m := docKernelRE.FindStringSubmatch(y.doc); m != nil {
			return m[1]
		}
	}
	return ""
}

// callerStrings returns what every static caller of x passes as parameter
// param, or nil when one of them is not a constant.
func (l *loader) callerStrings(x *fn, param int) []string {
	var out []string
	for _, c := range l.callers[x] {
		if param >= len(c.Args) {
			return nil
		}
		vs, _ := l.strings(c.Args[param], l.callIn[c], c.Pos(), 0)
		if vs == nil {
			return nil
		}
		out = append(out, vs...)
	}
	return out
}

// strings evaluates a string expression to its possible constant values,
// or reports the index of the parameter of in it comes from (-1: neither).
func (l *loader) strings(e ast.Expr, in *fn, at token.Pos, depth int) ([]string, int) {
	if depth > 8 {
		return nil, -1
	}
	if tv, ok := l.info.Types[e]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
		return []string{constant.StringVal(tv.Value)}, -1
	}
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		v, ok := l.info.Uses[e].(*types.Var)
		if !ok {
			return nil, -1
		}
		if i := slices.Index(in.params, v); i >= 0 && len(in.locals[v]) == 0 {
			return nil, i
		}
		if as := in.locals[v]; len(as) > 0 {
			// Every assignment before the use (all of them when none is).
			var before []assign
			for _, a := range as {
				if a.pos < at {
					before = append(before, a)
				}
			}
			if len(before) == 0 {
				before = as
			}
			var out []string
			for _, a := range before {
				vs, _ := l.strings(a.rhs, in, a.pos, depth+1)
				if vs == nil {
					return nil, -1
				}
				out = append(out, vs...)
			}
			return out, -1
		}
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return nil, -1
		}
		xs, _ := l.strings(e.X, in, at, depth+1)
		ys, _ := l.strings(e.Y, in, at, depth+1)
		var out []string
		for _, x := range xs {
			for _, y := range ys {
				out = append(out, x+y)
			}
		}
		return out, -1
	case *ast.CallExpr:
		callee := l.staticCallee(e)
		if callee == nil {
			return nil, -1
		}
		var out []string
		for _, r := range callee.returns {
			if len(r.Results) == 0 {
				return nil, -1
			}
			vs, _ := l.strings(r.Results[0], callee, r.Pos(), depth+1)
			if vs == nil {
				return nil, -1
			}
			out = append(out, vs...)
		}
		return out, -1
	case *ast.SelectorExpr:
		sel := l.info.Selections[e]
		if sel == nil || sel.Kind() != types.FieldVal {
			return nil, -1
		}
		var out []string
		for _, fa := range l.fields[sel.Obj().(*types.Var)] {
			if fa.in == nil {
				continue
			}
			vs, _ := l.strings(fa.rhs, fa.in, fa.rhs.Pos(), depth+1)
			if vs == nil {
				return nil, -1
			}
			out = append(out, vs...)
		}
		return out, -1
	}
	return nil, -1
}
