package harness

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"mmrace/kernelsim/sched"
)

// tokenRE finds the objects a violation names: addresses, VMAs, folios,
// page tables, anon_vmas.
var tokenRE = regexp.MustCompile(`\b(0x[0-9a-f]+|vma#\d+|f\d+|pt#\d+|pmd#\d+|av#\d+|avc#\d+)\b`)

// Narrative tells the violating interleaving as a reviewer would: at most
// max numbered steps (the violation included), each one line (who, which kernel function, what it saw
// or changed), chosen among the concurrent phase's events that touch the
// objects the violation names, then the verdict and a diagram of the VMAs
// of the mms involved.
func (r *Report) Narrative(limit int) string {
	if r.Verdict.Outcome == sched.OK {
		return "no violation\n"
	}
	v := r.Verdict.Violation
	tokens := map[string]bool{}
	for _, t := range tokenRE.FindAllString(v.Detail, -1) {
		tokens[t] = true
	}
	// An AVC is named through what it links: the VMA (and anon_vma) of the
	// event that unlinked or linked it join the objects of the story.
	for _, e := range r.RunTrace.Events {
		text := e.ObjText() + " " + e.DetailText()
		found := tokenRE.FindAllString(text, -1)
		if e.Kind == sched.KindWrite && slices.ContainsFunc(found, func(t string) bool { return strings.HasPrefix(t, "avc#") && tokens[t] }) {
			for _, t := range found {
				if strings.HasPrefix(t, "vma#") {
					tokens[t] = true
				}
			}
		}
	}
	locks := r.Verdict.Outcome == sched.Deadlock || strings.HasPrefix(v.Invariant, "lock")
	// Stale translations and lost data are told through the user accesses
	// too: which store went through which page, from the TLB or a walk.
	accesses := strings.HasPrefix(v.Invariant, "tlb-") || v.Invariant == "memory-contents"
	var steps []sched.Event
	for _, e := range r.RunTrace.Events {
		if !matters(e, locks) && !(accesses && userAccess(e)) {
			continue
		}
		text := e.ObjText() + " " + e.DetailText()
		// A stale translation is told with every flush and whole-table
		// move: which address each flushed is the story.
		hit := len(tokens) == 0 || (strings.HasPrefix(v.Invariant, "tlb-") && e.Kind == sched.KindWrite &&
			(strings.HasSuffix(e.ObjText(), " tlb") || strings.HasPrefix(e.ObjText(), "pmd ")))
		for _, t := range tokenRE.FindAllString(text, -1) {
			hit = hit || tokens[t]
		}
		if hit {
			steps = append(steps, e)
		}
	}
	lines := coalesceTreeStores(steps)
	if keep := max(limit-1, 0); len(lines) > keep { // the last numbered step is the violation
		lines = lines[len(lines)-keep:]
	}
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "%d. %s\n", i+1, l)
	}
	fmt.Fprintf(&b, "%d. %s: %s\n", len(lines)+1, v.Invariant, v.Detail)
	b.WriteString(r.Diagram(tokens))
	return b.String()
}

// coalesceTreeStores formats the steps one line each, except that a run of
// interval-tree stores of one task on one tree (the store-by-store
// mutations of kernelsim/ivtree, scheduling points only when a reader may
// go without the tree's lock) becomes one line naming the first and the
// last store: a reviewer wants to see "t2 rotated av#1's tree here", not
// every pointer.
func coalesceTreeStores(steps []sched.Event) []string {
	var out []string
	for i := 0; i < len(steps); i++ {
		e := steps[i]
		j := i
		for e.Kind == sched.KindWrite && treeStore(e) && j+1 < len(steps) {
			n := steps[j+1]
			if n.Kind != sched.KindWrite || n.Task != e.Task || n.Obj != e.ObjText() || n.Site != e.Site || !treeStore(n) {
				break
			}
			j++
		}
		if j > i {
			out = append(out, fmt.Sprintf("%s %s: %s: %d tree stores, %s ... %s", sched.TaskName(e.Task), e.Site, e.ObjText(), j-i+1, e.DetailText(), steps[j].Detail))
			i = j
			continue
		}
		out = append(out, fmt.Sprintf("%s %s: %s", sched.TaskName(e.Task), e.Site, describe(e)))
	}
	return out
}

// treeStore reports whether e is a store of an interval-tree mutation
// (ivtree names them "<kernel function>: <statement>").
func treeStore(e sched.Event) bool {
	return strings.Contains(e.DetailText(), "rb_") || strings.Contains(e.DetailText(), "__subtree_last") || strings.Contains(e.DetailText(), "augment_")
}

func matters(e sched.Event, locks bool) bool {
	switch e.Kind {
	case sched.KindWrite, sched.KindNote, sched.KindChoice:
		return true
	case sched.KindWalk:
		return strings.HasPrefix(e.DetailText(), "looks at")
	case sched.KindAcquire, sched.KindGranted, sched.KindTrylock, sched.KindRelease, sched.KindBlock:
		return locks
	}
	return false
}

// userAccess reports whether e is a user load or store (kernelsim's
// access: its retirement, amended with what the access did).
func userAccess(e sched.Event) bool {
	return e.Kind == sched.KindAccess && (strings.HasPrefix(e.DetailText(), "store ") || strings.HasPrefix(e.DetailText(), "load ")) && strings.Contains(e.DetailText(), " via ")
}

func describe(e sched.Event) string {
	switch e.Kind {
	case sched.KindWalk:
		return "visits " + e.ObjText() + ", " + e.DetailText()
	case sched.KindWrite:
		return e.ObjText() + ": " + e.DetailText()
	case sched.KindChoice:
		return e.ObjText() + ": " + e.DetailText()
	case sched.KindAcquire, sched.KindGranted, sched.KindTrylock, sched.KindRelease, sched.KindBlock:
		return e.Kind.String() + " " + e.ObjText() + " " + e.DetailText()
	}
	return e.DetailText()
}

// Diagram draws the VMAs of the mms the tokens name (all mms when none is
// named) as they were when the concurrent phase ended, one column per page:
//
//	      0x10    0x18    0x20
//	mm1   AAAAAAAA        BBBB
//	      A = vma#3 [0x10,0x18) pgoff 0x10
func (r *Report) Diagram(tokens map[string]bool) string {
	var mms []MMLayout
	for _, l := range r.Layout {
		named := false
		for t := range tokens {
			named = named || strings.Contains(r.Verdict.Violation.Detail, l.MM+" ") && t != ""
		}
		if named || len(tokens) == 0 {
			mms = append(mms, l)
		}
	}
	if len(mms) == 0 {
		mms = r.Layout
	}
	lo, hi := 1<<30, 0
	for _, l := range mms {
		for _, v := range l.VMAs {
			lo, hi = min(lo, v.Start), max(hi, v.End)
		}
	}
	if hi <= lo || hi-lo > 96 {
		return ""
	}
	lo = lo / 8 * 8
	var b strings.Builder
	b.WriteString("\n      ")
	for a := lo; a < hi; a += 8 {
		fmt.Fprintf(&b, "%-8s", fmt.Sprintf("%#x", a))
	}
	b.WriteByte('\n')
	var legend []string
	letter := 'A'
	for _, l := range mms {
		row := []rune(strings.Repeat(" ", hi-lo))
		for _, v := range l.VMAs {
			for a := v.Start; a < v.End; a++ {
				row[a-lo] = letter
			}
			legend = append(legend, fmt.Sprintf("      %c = %s %s [%#x,%#x) pgoff %#x", letter, l.MM, v.Name, v.Start, v.End, v.Pgoff))
			letter++
			if letter > 'Z' {
				letter = 'a'
			}
		}
		fmt.Fprintf(&b, "%-6s%s\n", l.MM, strings.TrimRight(string(row), " "))
	}
	sort.Strings(legend)
	b.WriteString(strings.Join(legend, "\n"))
	b.WriteByte('\n')
	return b.String()
}
