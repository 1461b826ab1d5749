package harness

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"mmrace/kernelsim/sched"
)

// tokenRE finds the objects a violation names: addresses, VMAs, folios,
// page tables, anon_vmas.
var tokenRE = regexp.MustCompile(`\b(0x[0-9a-f]+|vma#\d+|f\d+|pt#\d+|pmd#\d+|av#\d+)\b`)

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
	locks := r.Verdict.Outcome == sched.Deadlock || strings.HasPrefix(v.Invariant, "lock")
	var steps []sched.Event
	for _, e := range r.RunTrace.Events {
		if !matters(e, locks) {
			continue
		}
		text := e.ObjText() + " " + e.DetailText()
		hit := len(tokens) == 0
		for _, t := range tokenRE.FindAllString(text, -1) {
			hit = hit || tokens[t]
		}
		if hit {
			steps = append(steps, e)
		}
	}
	if keep := max(limit-1, 0); len(steps) > keep { // the last numbered step is the violation
		steps = steps[len(steps)-keep:]
	}
	var b strings.Builder
	for i, e := range steps {
		fmt.Fprintf(&b, "%d. %s %s: %s\n", i+1, sched.TaskName(e.Task), e.Site, describe(e))
	}
	fmt.Fprintf(&b, "%d. %s: %s\n", len(steps)+1, v.Invariant, v.Detail)
	b.WriteString(r.Diagram(tokens))
	return b.String()
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
