package oracle

import (
	"fmt"
	"slices"

	"mmrace/kernelsim"
)

// plan is how a program runs on both sides, worked out before either runs:
// the ops in program order (setup, then t1's, t2's, ...), which process
// ("slot") runs each op on the host, which mms exist after each op, and
// where the program reaches a deliberate limit of the model.
type plan struct {
	steps    []planStep
	slots    []string // the mms with a host process, by slot: declared mms, then fork children
	declared int      // how many of them are declared (the others are forked)
	files    []kernelsim.FileDecl
	limit    *LimitHit // nil, or the first op that reaches a limit: steps end before it
	pages    int       // the model's address space
}

// planStep is one op.
type planStep struct {
	op    kernelsim.Op
	text  string // "t1: mremap mm1 0x10+1 resize 2"
	slot  int    // the host process that runs it; -1 when skipped
	req   string // the helper request
	skip  string // why the host does not run it
	alive []string
}

// newPlan plans p. Ops that name an mm which exists only in the model (made
// by exec, or forked from one) are skipped on the host.
func newPlan(p *kernelsim.Program) *plan {
	pl := &plan{files: p.Files, pages: kernelsim.DefaultGeometry.Pages(), declared: len(p.MMs)}
	fileIdx := map[string]int{}
	fileSize := map[string]int{}
	hugetlb := map[string]bool{}
	for i, f := range p.Files {
		fileIdx[f.Name], fileSize[f.Name] = i, f.Pages
		hugetlb[f.Name] = f.Hugetlb
	}
	slot := map[string]int{}
	for _, m := range p.MMs {
		slot[m] = len(pl.slots)
		pl.slots = append(pl.slots, m)
	}
	alive := slices.Clone(p.MMs)
	exiting := map[string]bool{} // the mms an earlier op exits
	caller := func() string {
		for _, m := range alive {
			if !exiting[m] {
				return m
			}
		}
		return ""
	}
	add := func(o kernelsim.Op, head string) bool {
		text := head + ": " + o.String()
		l := limitOf(o, pl.pages, fileSize)
		if o.Verb == kernelsim.OpMmap && hugetlb[o.File] {
			l = &LimitHugetlb
		}
		if l != nil {
			pl.limit = &LimitHit{Limit: *l, Step: len(pl.steps), Op: text}
			return false
		}
		st := planStep{op: o, text: text, slot: -1}
		s, known := slot[o.MM]
		switch {
		case !known && o.Verb == kernelsim.OpPunch && caller() != "" && !exiting[o.MM]:
			// fallocate(FALLOC_FL_PUNCH_HOLE) acts on the file, whichever
			// process calls it: a host process that has not exited makes
			// the call for the model-only mm (once that mm exited, the
			// model refuses the op, ESRCH, and the host has no call to
			// make).
			s = slot[caller()]
			st.req, st.skip = hostRequest(o, 0, fileIdx[o.File])
		case !known:
			st.skip = fmt.Sprintf("%s exists only in the model (made by exec)", o.MM)
		case o.Verb == kernelsim.OpFork:
			st.req, st.skip = hostRequest(o, len(pl.slots), 0)
			slot[o.Child] = len(pl.slots)
			pl.slots = append(pl.slots, o.Child)
			alive = append(alive, o.Child)
		default:
			st.req, st.skip = hostRequest(o, 0, fileIdx[o.File])
		}
		if st.skip == "" {
			st.slot = s
		}
		if o.Verb == kernelsim.OpExit {
			exiting[o.MM] = true
		}
		st.alive = slices.Clone(alive)
		pl.steps = append(pl.steps, st)
		return true
	}
	for _, o := range p.Setup {
		if !add(o, "setup") {
			return pl
		}
	}
	for i, ops := range p.Tasks {
		for _, o := range ops {
			if !add(o, fmt.Sprintf("t%d", i+1)) {
				return pl
			}
		}
	}
	return pl
}
