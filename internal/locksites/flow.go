package locksites

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"math/bits"
	"slices"
	"strings"
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

// state is what the flow analysis knows at a point of a function: a set of
// paths, each with the conditions known on it (so that "if flag { lock }
// ... if flag { unlock }" is not taken for a held lock), the acquisitions
// that may be held and the classes deferred calls release. No path: the
// point is unreachable.
type state struct {
	paths []path
}

type path struct {
	facts    string   // the known conditions: "key=1\n" lines, sorted
	live     uint64   // acquisitions (by index in fn.acqs) that may be held
	deferred classSet // classes that deferred calls release
}

const maxPaths = 32

func (s state) ok() bool { return len(s.paths) > 0 }

func start() state { return state{paths: []path{{}}} }

// join merges two states; paths with the same facts merge.
func join(a, b state) state {
	if !a.ok() {
		return b
	}
	if !b.ok() {
		return a
	}
	out := state{paths: slices.Clone(a.paths)}
	for _, p := range b.paths {
		out = out.add(p)
	}
	return out
}

func (s state) add(p path) state {
	for i := range s.paths {
		if s.paths[i].facts == p.facts {
			s.paths[i].live |= p.live
			s.paths[i].deferred |= p.deferred
			return s
		}
	}
	s.paths = append(s.paths, p)
	slices.SortFunc(s.paths, func(a, b path) int { return strings.Compare(a.facts, b.facts) })
	if len(s.paths) > maxPaths { // too many: forget the facts
		var m path
		for _, q := range s.paths {
			m.live |= q.live
			m.deferred |= q.deferred
		}
		s.paths = []path{m}
	}
	return s
}

func (s state) equal(o state) bool { return slices.Equal(s.paths, o.paths) }

// each applies fn to every path.
func (s state) each(fn func(p path) path) state {
	out := state{paths: make([]path, 0, len(s.paths))}
	for _, p := range s.paths {
		out = out.add(fn(p))
	}
	return out
}

// fact returns the value of key on p, if known.
func (p path) fact(key string) (val, known bool) {
	for _, l := range strings.Split(p.facts, "\n") {
		if i := strings.LastIndexByte(l, '='); i >= 0 && l[:i] == key {
			return l[i+1:] == "1", true
		}
	}
	return false, false
}

func (p path) with(key string, val bool) path {
	v := "0"
	if val {
		v = "1"
	}
	lines := strings.Split(strings.TrimSuffix(p.facts, "\n"), "\n")
	if p.facts == "" {
		lines = nil
	}
	lines = append(lines, key+"="+v)
	slices.Sort(lines)
	p.facts = strings.Join(lines, "\n") + "\n"
	return p
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

// merged is s as one path without facts: a loop's back edge keeps what
// may be held, not the conditions (which the loop may change).
func merged(s state) state {
	if !s.ok() {
		return s
	}
	var m path
	for _, p := range s.paths {
		m.live |= p.live
		m.deferred |= p.deferred
	}
	return state{paths: []path{m}}
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
