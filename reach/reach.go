// Package reach measures what a search exercised: for every lock class and
// every pair of kernel paths that take a lock of that class, in how many
// runs two tasks ran the two paths on the same lock concurrently: the
// second came to the lock while the op of the first, which had taken it,
// was still at work. A cell
// that stays empty after a long search is a pair of paths whose race the
// search never tried: either the generators cannot reach it (a gap to
// close), or the kernel never lets the two paths meet on one lock (the
// cell is impossible, and Impossible says why).
//
// A kernel path is the function the model names at the lock operation (the
// site of its trace event): "move_ptes", "folio_lock_anon_vma_read",
// "free_pgtables" (unlink_anon_vmas and unlink_file_vma as free_pgtables
// calls them). RCU read sections are left out: readers never exclude each
// other, and what a section protects against is a free after a grace
// period, not another path's lock.
package reach

import (
	"sort"
	"strings"

	"mmrace/kernelsim/sched"
)

// Cell is one pair of kernel paths taking locks of one class; A <= B.
type Cell struct {
	Class string `json:"class"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// NewCell returns the cell of paths a and b (in either order).
func NewCell(class, a, b string) Cell {
	if b < a {
		a, b = b, a
	}
	return Cell{Class: class, A: a, B: b}
}

func (c Cell) String() string { return c.Class + ": " + c.A + " × " + c.B }

// Has reports whether path p is one of the cell's two paths.
func (c Cell) Has(p string) bool { return c.A == p || c.B == p }

// Matrix counts, per cell, the runs in which it was reached.
type Matrix struct {
	Runs  int          `json:"runs"`
	Cells map[Cell]int `json:"-"`
}

// New returns an empty matrix.
func New() *Matrix { return &Matrix{Cells: map[Cell]int{}} }

// Add counts the cells one run reached, from its concurrent phase's trace.
func (m *Matrix) Add(tr *sched.Trace) { m.AddCells(Reached(tr)) }

// AddCells counts one run that reached cells (Reached of its trace).
func (m *Matrix) AddCells(cells []Cell) {
	m.Runs++
	for _, c := range cells {
		m.Cells[c]++
	}
}

// Merge adds the counts of o.
func (m *Matrix) Merge(o *Matrix) {
	m.Runs += o.Runs
	for c, n := range o.Cells {
		m.Cells[c] += n
	}
}

// lockEvent is one lock operation of a run.
type lockEvent struct {
	task, op, at int // at: the event's index in the trace
	site         string
}

// taskOps is one task's ops in Reached: where each one ends.
type taskOps struct {
	ends   []int // per op, the index after its last event; -1 while open
	last   int   // the index of the task's last event
	inExit bool  // its open op is an exit_mmap of the last mmput
}

// open ends the task's open op (close) and starts the next one.
func (t *taskOps) open() {
	t.close()
	t.ends = append(t.ends, -1)
}

// close ends the task's open op after its last event: another task's
// event after that came once the op had done everything it does (released
// its last lock), even if the task's next op event or its exit comes
// later.
func (t *taskOps) close() {
	if n := len(t.ends); n > 0 && t.ends[n-1] < 0 {
		t.ends[n-1] = t.last + 1
	}
}

// Reached returns the cells one run reached, sorted: for every lock, every
// two acquisitions (or attempts: a failed trylock tried the lock too) by
// different tasks where the later one happens before the op of the earlier
// one has ended: the second path came to the lock while the first one's op,
// which had taken it, was still at work (holding it, waiting for it,
// between two of its critical sections, or still acting on what it
// protected). An op runs from its op event to its last event: the last
// one of its task before the task's next op event, its exit or the end of
// the run (a release and a switch to another task may come before the
// next op event: what runs then came after the op). Notes are not events
// of the op here: the one that most often ends an op's trace is its
// result, recorded once it has released everything.
func Reached(tr *sched.Trace) []Cell {
	// Positions are indices into tr.Events, not steps: a task woken by a
	// release records its grant at the step of the release, beside the
	// releasing task's last events.
	var tasks []taskOps
	var byLock map[string][]lockEvent
	for i, e := range tr.Events {
		if e.Task < 0 || e.Kind == sched.KindNote {
			// A note is an annotation, not work: most often the op's
			// result (an errno, SIGSEGV) recorded after its last lock
			// was released, when the syscall has returned.
			continue
		}
		for len(tasks) <= e.Task {
			tasks = append(tasks, taskOps{})
		}
		t := &tasks[e.Task]
		switch {
		case e.Kind == sched.KindOp:
			t.open()
			t.inExit = false
		case e.Kind == sched.KindExit:
			t.close()
			continue // not an event of the op
		case e.Site == exitMMapSite && !t.inExit && len(t.ends) > 0:
			// The last mmput runs exit_mmap in the task that drops it, at
			// the end of whatever op that was: a span of its own, not more
			// of that op (a hole punch would seem to hold its file's
			// i_rwsem across the exit).
			t.open()
			t.inExit = true
		}
		if (e.Kind == sched.KindAcquire || e.Kind == sched.KindTrylock) && len(t.ends) > 0 && ClassOf(e.Obj) != "" {
			if byLock == nil {
				byLock = map[string][]lockEvent{}
			}
			byLock[e.Obj] = append(byLock[e.Obj], lockEvent{task: e.Task, op: len(t.ends) - 1, at: i, site: e.Site})
		}
		t.last = i
	}
	for i := range tasks {
		tasks[i].close()
	}
	seen := map[Cell]bool{}
	for obj, evs := range byLock {
		class := ClassOf(obj)
		for i, a := range evs {
			for _, b := range evs[i+1:] {
				// Events are in order: a came first; b came while a's op
				// was at work when a's op had an event after it.
				if a.task != b.task && b.at < tasks[a.task].ends[a.op] {
					seen[NewCell(class, a.site, b.site)] = true
				}
			}
		}
	}
	out := make([]Cell, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sortCells(out)
	return out
}

// exitMMapSite is the site of exit_mmap's first event (its mmap_lock).
const exitMMapSite = "exit_mmap"

func sortCells(cs []Cell) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Class != cs[j].Class {
			return cs[i].Class < cs[j].Class
		}
		if cs[i].A != cs[j].A {
			return cs[i].A < cs[j].A
		}
		return cs[i].B < cs[j].B
	})
}

// lockPrefixes maps the names the model gives its locks to their classes
// (ksync.Class names; a PMD table's split lock, class ptl in the lock
// order, is its own class here: no PTE-level path takes one).
var lockPrefixes = []struct{ prefix, class string }{
	{"mmap_lock(", "mmap_lock"},
	{"vma#", "vma_lock"},
	{"i_mmap_rwsem(", "i_mmap_rwsem"},
	{"anon_vma(", "anon_vma->rwsem"},
	{"folio_lock(", "folio_lock"},
	{"page_table_lock(", "page_table_lock"},
	{"ptl(", "ptl"},
	{"pmd_lock(", "pmd_lock"},
	{"i_pages(", "i_pages"},
}

// ClassOf returns the lock class of a lock named name, or "" for what is
// not a lock of the matrix (RCU, the grace period).
func ClassOf(name string) string {
	for _, p := range lockPrefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.class
		}
	}
	return ""
}
