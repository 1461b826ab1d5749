package locksites

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
)

// acq is one acquisition written in a function: a call of a ksync
// acquisition primitive, or a call of a delegating kernelsim function.
type acq struct {
	call   *ast.CallExpr
	in     *fn
	prim   string // "Mutex.Lock"; "" for a delegating call
	callee *fn    // the delegating function called
	try    bool   // a primitive trylock: holds on its success branch only
	// epoch: vma_start_write, whose hold is the mmap write epoch's, not
	// the function's (it has no release): never held for the analysis, so
	// its site is where it is written.
	epoch   bool
	classes classSet
	variant string
}

// flow analyses one function with the summaries known so far.
type flow struct {
	l    *loader
	f    *fn
	idx  map[*ast.CallExpr]int // acquisition calls to their index
	ties map[*types.Var]uint64 // variables holding a delegating call's result (or a trylock's) to its acquisition
	// recvs maps a local variable to the acquisitions made on the lock it
	// holds: when it is nil, they hold nothing.
	recvs map[*types.Var]uint64
	// stable are the variables assigned at most once in the function
	// (parameters never assigned): conditions on them are facts.
	stable   map[*types.Var]bool
	assigned map[string]bool // selector paths assigned in the function ("v.file")
	targets  []*target
	labels   map[string]*target
	// outputs
	delegated uint64
	releases  classSet
	returns   bool
}

type target struct {
	loop      bool
	brk, cont state
}

// analyze runs the may-hold analysis of every function to a fixpoint of
// the summaries (delegated classes, releases of the caller's locks, no
// return).
func (l *loader) analyze() error {
	order := l.sortedFuncs()
	for iter := 0; ; iter++ {
		if iter == 50 {
			return fmt.Errorf("mmrace internal error: the lock-site analysis did not converge")
		}
		changed := false
		for _, x := range order {
			dc, rel, nr := x.delegClass, x.releases, x.noReturn
			l.analyzeFn(x)
			if x.delegClass != dc || x.releases != rel || x.noReturn != nr {
				changed = true
			}
		}
		if !changed {
			return nil
		}
	}
}

// analyzeFn finds x's acquisitions and which of them x may return holding.
func (l *loader) analyzeFn(x *fn) {
	x.acqs = nil
	fl := &flow{l: l, f: x, idx: map[*ast.CallExpr]int{}, ties: map[*types.Var]uint64{}, recvs: map[*types.Var]uint64{}, labels: map[string]*target{},
		stable: map[*types.Var]bool{}, assigned: map[string]bool{}}
	variants := l.variantGuards(x)
	inspect(x, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			var a *acq
			if m, recv := l.ksyncMethod(n); m != "" {
				if p, ok := primitives[m]; ok && p.acquire {
					a = &acq{call: n, in: x, prim: m, try: p.try, epoch: m == "VMALock.StartWrite", classes: l.lockClasses(recv, x, n.Pos(), false)}
				}
			} else if callee := l.staticCallee(n); callee != nil && callee.delegClass != 0 {
				a = &acq{call: n, in: x, callee: callee, classes: callee.delegClass}
			}
			if a != nil {
				a.variant = variants[n]
				if len(x.acqs) == 64 {
					panic("mmrace internal error: more than 64 acquisitions in " + x.name)
				}
				fl.idx[n] = len(x.acqs)
				x.acqs = append(x.acqs, a)
			}
		case *ast.AssignStmt:
			for _, e := range n.Lhs {
				if _, ok := e.(*ast.Ident); !ok {
					fl.assigned[types.ExprString(e)] = true
				}
			}
		case *ast.IncDecStmt:
			fl.assigned[types.ExprString(n.X)] = true
		case *ast.UnaryExpr:
			if n.Op == token.AND { // &v: may change behind our back
				fl.assigned[types.ExprString(n.X)] = true
			}
		}
		return true
	})
	for v, as := range x.locals {
		// Defined once and never assigned again; facts about it are
		// forgotten where a loop may define it anew.
		fl.stable[v] = len(as) == 1 && as[0].define && !fl.assigned[v.Name()]
	}
	for _, v := range x.params {
		if len(x.locals[v]) == 0 && !fl.assigned[v.Name()] {
			fl.stable[v] = true
		}
	}
	fl.tie()
	end := fl.block(x.body.List, start())
	if end.ok() {
		fl.ret(end)
	}
	x.delegated = map[*ast.CallExpr]bool{}
	x.delegClass = 0
	if x.lit == nil { // a literal's callers are unknown: it never delegates
		for i, a := range x.acqs {
			if fl.delegated&(1<<i) != 0 {
				x.delegated[a.call] = true
				x.delegClass |= a.classes
			}
		}
	}
	x.releases = fl.releases
	x.noReturn = !fl.returns
}

// tie records the variables that hold the result of an acquisition: a
// delegating function's first result (nil or false: it holds nothing) or
// a trylock's boolean.
func (fl *flow) tie() {
	for c, i := range fl.idx {
		if se, ok := ast.Unparen(c.Fun).(*ast.SelectorExpr); ok && fl.f.acqs[i].prim != "" {
			if id, ok := se.X.(*ast.Ident); ok {
				if v, ok := fl.l.info.Uses[id].(*types.Var); ok {
					fl.recvs[v] |= 1 << i
				}
			}
		}
	}
	for v, as := range fl.f.locals {
		for _, a := range as {
			c, ok := ast.Unparen(a.rhs).(*ast.CallExpr)
			if !ok || a.index != 0 {
				continue
			}
			if i, ok := fl.idx[c]; ok {
				fl.ties[v] |= 1 << i
			}
		}
	}
}

func (fl *flow) block(list []ast.Stmt, s state) state {
	for _, st := range list {
		s = fl.stmt(st, s)
	}
	return s
}

func (fl *flow) stmt(st ast.Stmt, s state) state {
	if !s.ok() {
		return s
	}
	switch st := st.(type) {
	case *ast.BlockStmt:
		return fl.block(st.List, s)
	case *ast.ExprStmt:
		return fl.expr(st.X, s)
	case *ast.AssignStmt:
		for _, e := range st.Rhs {
			s = fl.expr(e, s)
		}
		for _, e := range st.Lhs {
			s = fl.expr(e, s)
		}
		return s
	case *ast.DeclStmt:
		ast.Inspect(st, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for _, e := range vs.Values {
					s = fl.expr(e, s)
				}
				return false
			}
			return true
		})
		return s
	case *ast.IncDecStmt:
		return fl.expr(st.X, s)
	case *ast.SendStmt:
		return fl.expr(st.Value, fl.expr(st.Chan, s))
	case *ast.DeferStmt:
		for _, a := range st.Call.Args {
			s = fl.expr(a, s)
		}
		rel := fl.releasedBy(st.Call)
		return s.each(func(p path) path { p.deferred |= rel; return p })
	case *ast.GoStmt:
		return s
	case *ast.ReturnStmt:
		for _, e := range st.Results {
			s = fl.expr(e, s)
		}
		if s.ok() {
			fl.ret(s)
		}
		return state{}
	case *ast.IfStmt:
		if st.Init != nil {
			s = fl.stmt(st.Init, s)
		}
		t, f := fl.cond(st.Cond, s)
		t = fl.stmt(st.Body, t)
		if st.Else != nil {
			f = fl.stmt(st.Else, f)
		}
		return join(t, f)
	case *ast.ForStmt:
		if st.Init != nil {
			s = fl.stmt(st.Init, s)
		}
		return fl.loop(st.Cond, st.Post, st.Body, s, fl.labelOf(st))
	case *ast.RangeStmt:
		s = fl.expr(st.X, s)
		return fl.loop(&ast.Ident{Name: "range"}, nil, st.Body, s, fl.labelOf(st))
	case *ast.SwitchStmt:
		if st.Init != nil {
			s = fl.stmt(st.Init, s)
		}
		return fl.switchStmt(st.Tag, st.Body, s, fl.labelOf(st))
	case *ast.TypeSwitchStmt:
		if st.Init != nil {
			s = fl.stmt(st.Init, s)
		}
		s = fl.stmt(st.Assign, s)
		return fl.switchStmt(nil, st.Body, s, fl.labelOf(st))
	case *ast.SelectStmt:
		return fl.switchStmt(nil, st.Body, s, fl.labelOf(st))
	case *ast.LabeledStmt:
		return fl.stmt(st.Stmt, s)
	case *ast.BranchStmt:
		tg := fl.branchTarget(st)
		switch {
		case tg == nil:
		case st.Tok == token.BREAK:
			tg.brk = join(tg.brk, s)
		case st.Tok == token.CONTINUE:
			tg.cont = join(tg.cont, s)
		}
		return state{}
	}
	return s
}

// labelOf returns the label of a labelled statement's inner statement.
func (fl *flow) labelOf(st ast.Stmt) string {
	var label string
	inspect(fl.f, func(n ast.Node) bool {
		if ls, ok := n.(*ast.LabeledStmt); ok && ls.Stmt == st {
			label = ls.Label.Name
		}
		return label == ""
	})
	return label
}

func (fl *flow) branchTarget(st *ast.BranchStmt) *target {
	if st.Label != nil {
		return fl.labels[st.Label.Name]
	}
	for i := len(fl.targets) - 1; i >= 0; i-- {
		tg := fl.targets[i]
		if st.Tok == token.BREAK || tg.loop {
			return tg
		}
	}
	return nil
}

func (fl *flow) push(label string, loop bool) *target {
	tg := &target{loop: loop}
	fl.targets = append(fl.targets, tg)
	if label != "" {
		fl.labels[label] = tg
	}
	return tg
}

func (fl *flow) pop() { fl.targets = fl.targets[:len(fl.targets)-1] }

// loop iterates a loop body to a fixpoint of the state at its head. A nil
// cond is "for {": the loop ends by break or return only; "range" may run
// the body or not.
func (fl *flow) loop(cond ast.Expr, post ast.Stmt, body *ast.BlockStmt, entry state, label string) state {
	head := entry
	for range 100 {
		tg := fl.push(label, true)
		in, out := head, state{}
		switch {
		case isIdent(cond, "range"):
			out = head
		case cond != nil:
			in, out = fl.cond(cond, head)
		}
		end := join(fl.block(body.List, in), tg.cont)
		if post != nil {
			end = fl.stmt(post, end)
		}
		fl.pop()
		next := join(entry, merged(end))
		if next.equal(head) {
			return join(out, tg.brk)
		}
		head = next
	}
	panic(fmt.Sprintf("mmrace internal error: the lock-site analysis of a loop in %s did not converge: %q", fl.f.name, fmt.Sprint(head)))
}

// switchStmt runs each clause from the state after the tag; a tag that is
// a trylock (vma_start_read) holds in the clauses that name ReadOK only.
func (fl *flow) switchStmt(tag ast.Expr, body *ast.BlockStmt, s state, label string) state {
	var tryBit uint64
	if c, ok := ast.Unparen(tag).(*ast.CallExpr); ok && fl.isTry(c) {
		tryBit = 1 << fl.idx[c]
		s = fl.callArgs(c, s)
	} else if tag != nil {
		s = fl.expr(tag, s)
	}
	tg := fl.push(label, false)
	out := state{}
	hasDefault := false
	for _, cl := range body.List {
		in := s
		var list []ast.Stmt
		switch cl := cl.(type) {
		case *ast.CaseClause:
			if cl.List == nil {
				hasDefault = true
			}
			if tryBit != 0 && namesReadOK(cl.List) {
				in = in.each(func(p path) path { p.live |= tryBit; return p })
			}
			list = cl.Body
		case *ast.CommClause:
			if cl.Comm == nil {
				hasDefault = true
			}
			list = cl.Body
		}
		out = join(out, fl.block(list, in))
	}
	fl.pop()
	if !hasDefault {
		out = join(out, s)
	}
	return join(out, tg.brk)
}

func namesReadOK(list []ast.Expr) bool {
	for _, e := range list {
		if se, ok := e.(*ast.SelectorExpr); ok && se.Sel.Name == "ReadOK" {
			return true
		}
		if isIdent(e, "ReadOK") {
			return true
		}
	}
	return false
}
