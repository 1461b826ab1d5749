// Package timeline draws the concurrent phase of one run as a self-contained
// HTML page: a swimlane per task with its ops, rmap-walk visits, PTE writes
// and lock holds as bars, the violating step marked, and the run's story
// beside it. The page needs no server, network or script library (the idea
// is porcupine's visualizer).
//
//	mmrace replay corpus/mremap_move_ptes_without_rmap_locks_strands_a_migration_entry.txt -variants move_ptes-skip-rmap-locks -rules=false -html out.html
package timeline

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"

	"mmrace/harness"
	"mmrace/kernelsim/sched"
)

//go:embed timeline.html.tmpl
var pageText string

var pageTmpl = template.Must(template.New("timeline").Parse(pageText))

// Geometry of the drawing, in CSS pixels.
const (
	labelW  = 190 // the sticky column of lane and row names
	rowH    = 18
	tailW   = 40 // room after the last step for the "after the run" marker
	minPX   = 5  // narrowest step column, for runs of several hundred steps
	maxPX   = 16
	plotPX  = 640 // the width the steps of a short run are spread over
	storyN  = 40  // lines of the narrative
	minTick = 40  // the least distance between two step labels of the axis
)

// Render writes the page for rep's concurrent phase to w.
func Render(w io.Writer, rep *harness.Report, title string) error {
	if rep == nil || rep.Program == nil {
		return errors.New("timeline: no report to draw")
	}
	return pageTmpl.Execute(w, build(rep, title))
}

type page struct {
	Title     string
	Program   string
	Variants  string
	Schedule  string
	Verdict   string
	Phase     string
	Failed    bool
	Steps     int
	Errors    []string
	PX, X0    int
	Width     int
	Ticks     []tick
	Lanes     []lane
	Violation *mark
	Narrative []storyLine
	Legend    []legendItem
}

type tick struct {
	Left  int
	Label string
}

type lane struct {
	Name string // t1, t2, ...
	Rows []row
}

type row struct {
	Label string
	Class string
	Items []item
}

// item is one drawn thing: a bar (Width > 0) or a marker.
type item struct {
	Class string
	Left  int
	Width int
	Title string
	Text  string
}

type mark struct {
	Left  int
	Width int
	Flip  bool // the label goes to the left of the column
	Label string
	Title string
}

type storyLine struct {
	Step int // -1: not an event line
	Text string
	Hit  bool // the violating step
}

type legendItem struct {
	Class, Text string
}

func build(rep *harness.Report, title string) *page {
	evs := rep.RunTrace.Events
	last := 0
	ntasks := len(rep.Program.Tasks)
	for _, e := range evs {
		last = max(last, e.Step)
		ntasks = max(ntasks, e.Task+1)
	}
	if v := rep.Verdict.Violation; !rep.OK() && rep.Phase == "run" && v.Step >= 0 && len(evs) > 0 {
		// A checker may fire at the step after the last recorded event.
		last = max(last, v.Step)
	}
	px := min(maxPX, max(minPX, plotPX/(last+1)))
	x := func(step int) int { return labelW + step*px }
	pg := &page{
		Title:    title,
		Program:  rep.Program.String(),
		Variants: rep.Program.Variants.String(),
		Schedule: rep.Schedule,
		Verdict:  rep.Verdict.String(),
		Phase:    rep.Phase,
		Failed:   !rep.OK(),
		Steps:    rep.Steps,
		Errors:   rep.Errors,
		PX:       px,
		X0:       labelW,
		Width:    x(last+1) + tailW,
	}
	every := 1
	for _, n := range []int{1, 2, 5, 10, 20, 50, 100, 200, 500} {
		if every = n; n*px >= minTick {
			break
		}
	}
	for s := 0; s <= last; s += every {
		pg.Ticks = append(pg.Ticks, tick{Left: x(s), Label: strconv.Itoa(s)})
	}

	// The violation: a column at its step when the step is one of the
	// concurrent phase's, else a marker before or after the run.
	vstep, vtask := -1, -1
	if pg.Failed {
		v := rep.Verdict.Violation
		m := &mark{Width: px, Title: pg.Verdict}
		switch {
		case (rep.Phase == "run" || rep.Phase == "memory") && v.Step >= 0 && v.Step <= last && len(evs) > 0:
			vstep, vtask = v.Step, v.Task
			m.Left = x(v.Step)
			m.Label = fmt.Sprintf("step %d", v.Step)
			if v.Task >= 0 {
				m.Label += " " + sched.TaskName(v.Task)
			}
			m.Label += ": " + v.Invariant
		case rep.Phase == "setup":
			m.Left, m.Width = labelW-px, px
			m.Label = "in setup: " + v.Invariant
		default:
			m.Left, m.Width = x(last+1)+px, px
			m.Label = "after the run (" + rep.Phase + "): " + v.Invariant
		}
		m.Flip = m.Left > pg.Width/2
		pg.Violation = m
	}

	holds, failed := pairHolds(evs, last)
	for t := 0; t < ntasks; t++ {
		pg.Lanes = append(pg.Lanes, buildLane(t, evs, holds, failed, x, px, last, vstep, vtask))
	}

	for _, l := range strings.Split(strings.TrimRight(rep.Story(storyN), "\n"), "\n") {
		if l == "" {
			continue
		}
		sl := storyLine{Step: -1, Text: l}
		if f := strings.Fields(l); len(f) > 0 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				sl.Step = n
				sl.Hit = n == vstep
			}
		}
		pg.Narrative = append(pg.Narrative, sl)
	}
	for i, c := range lockClasses {
		if i > 0 && lockClasses[i-1].class == c.class {
			pg.Legend[len(pg.Legend)-1].Text += " / " + c.prefix
			continue
		}
		pg.Legend = append(pg.Legend, legendItem{"hold " + c.class, c.prefix})
	}
	pg.Legend = append(pg.Legend,
		legendItem{"hold lk-other read", "read hold (lighter)"},
		legendItem{"wait", "waiting for a lock"},
		legendItem{"mk pte", "PTE write"},
		legendItem{"mk walk", "rmap walk visit"},
		legendItem{"mk write", "other write"},
		legendItem{"mk note", "note"},
		legendItem{"mk try", "failed trylock"},
	)
	return pg
}

// lockClasses colour a lock by the prefix of its name; prefixes of one
// colour are adjacent.
var lockClasses = []struct{ prefix, class string }{
	{"mmap_lock", "lk-mmap"},
	{"vma#", "lk-vma"},
	{"anon_vma", "lk-anon"},
	{"i_mmap_rwsem", "lk-immap"},
	{"ptl", "lk-ptl"},
	{"pmd_lock", "lk-ptl"},
	{"page_table_lock", "lk-ptl"},
	{"folio_lock", "lk-folio"},
}

func lockClass(obj string) string {
	for _, c := range lockClasses {
		if strings.HasPrefix(obj, c.prefix) {
			return c.class
		}
	}
	return "lk-other"
}

func buildLane(t int, evs []sched.Event, holds []hold, failed []failedTry, x func(int) int, px, last, vstep, vtask int) lane {
	ln := lane{Name: sched.TaskName(t)}
	ops := row{Label: ln.Name, Class: "ops"}
	walks := row{Label: "rmap walk visits", Class: "walks"}
	writes := row{Label: "writes, notes", Class: "writes"}
	start, end := -1, last
	var opIdx []int
	for _, e := range evs {
		if e.Task != t {
			continue
		}
		switch e.Kind {
		case sched.KindStart:
			start = e.Step
		case sched.KindExit:
			end = e.Step
		case sched.KindOp:
			opIdx = append(opIdx, len(ops.Items))
			ops.Items = append(ops.Items, item{Class: "op", Left: x(e.Step), Title: e.String(), Text: e.DetailText()})
		case sched.KindNote:
			writes.Items = append(writes.Items, item{Class: "mk note", Left: x(e.Step), Width: px, Title: e.String()})
		case sched.KindWalk:
			if strings.HasPrefix(e.DetailText(), "looks at") {
				walks.Items = append(walks.Items, item{Class: "mk walk", Left: x(e.Step), Width: px, Title: e.String()})
			}
		case sched.KindWrite:
			c := "mk write"
			if strings.HasPrefix(e.ObjText(), "pte ") {
				c = "mk pte"
			}
			writes.Items = append(writes.Items, item{Class: c, Left: x(e.Step), Width: px, Title: e.String()})
		}
	}
	// An op's label runs until the task's next op.
	for i, j := range opIdx {
		next := x(last+1) + tailW
		if i+1 < len(opIdx) {
			next = ops.Items[opIdx[i+1]].Left
		}
		ops.Items[j].Width = max(px, next-ops.Items[j].Left-2)
	}
	if start >= 0 {
		life := item{Class: "life", Left: x(start), Width: (end - start + 1) * px, Title: fmt.Sprintf("%s runs from step %d to %d", ln.Name, start, end)}
		ops.Items = append([]item{life}, ops.Items...)
	}
	if t == vtask && vstep >= 0 {
		ops.Items = append(ops.Items, item{Class: "mk hit", Left: x(vstep), Width: px, Title: "the violating step"})
	}
	ln.Rows = append(ln.Rows, ops)
	for _, r := range []row{walks, writes} {
		if len(r.Items) > 0 {
			ln.Rows = append(ln.Rows, r)
		}
	}

	// One row per lock object, in the order the task first touched it.
	rows := map[string]int{}
	var locks []row
	rowOf := func(obj string) *row {
		i, ok := rows[obj]
		if !ok {
			i = len(locks)
			rows[obj] = i
			locks = append(locks, row{Label: obj, Class: "lock"})
		}
		return &locks[i]
	}
	type entry struct {
		step int
		obj  string
		h    *hold
		f    *failedTry
	}
	var entries []entry
	for i := range holds {
		if h := &holds[i]; h.Task == t {
			entries = append(entries, entry{step: h.Start, obj: h.Obj, h: h})
		}
	}
	for i := range failed {
		if f := &failed[i]; f.Task == t {
			entries = append(entries, entry{step: f.Step, obj: f.Obj, f: f})
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].step < entries[j].step })
	for _, en := range entries {
		r := rowOf(en.obj)
		if en.f != nil {
			r.Items = append(r.Items, item{Class: "mk try", Left: x(en.f.Step), Width: px, Title: en.f.Text})
			continue
		}
		h := en.h
		it := item{Left: x(h.Start)}
		mode := h.Mode
		if mode == "" {
			mode = "held"
		}
		switch {
		case h.Wait:
			it.Class = "wait"
			it.Width = (h.End - h.Start) * px
			if h.Open {
				it.Width += px
			}
			it.Title = fmt.Sprintf("%s waits for %s from step %d (%s)", ln.Name, h.Obj, h.Start, h.From)
			if h.Open {
				it.Title += " to the end of the run"
			} else {
				it.Title += fmt.Sprintf(" to step %d", h.End)
			}
		default:
			it.Class = "hold " + lockClass(h.Obj)
			if strings.HasSuffix(mode, "read") {
				it.Class += " read"
			}
			it.Width = (h.End - h.Start + 1) * px
			it.Text = mode
			it.Title = fmt.Sprintf("%s holds %s (%s) from step %d (%s)", ln.Name, h.Obj, mode, h.Start, h.From)
			if h.Open {
				it.Class += " open"
				it.Title += " to the end of the run: no release recorded"
			} else {
				it.Title += fmt.Sprintf(" to step %d (%s)", h.End, h.To)
			}
		}
		it.Width = max(it.Width, 2)
		r.Items = append(r.Items, it)
	}
	ln.Rows = append(ln.Rows, locks...)
	return ln
}
