package sched

// Strategy decides, at every scheduling point of a controlled run, which
// runnable task runs next, and answers the run's data choices (allocation
// failure injection and the like). A Strategy is used by one run at a time;
// Reset is called at the start of every run.
type Strategy interface {
	// Reset prepares the strategy for a run of n tasks.
	Reset(n int)
	// Next returns the task to run at global step step. runnable lists the
	// runnable task indexes in ascending order and is never empty; cur is the
	// task that reached the scheduling point, or -1 when it cannot continue
	// (it blocked or exited). The result must be an element of runnable.
	Next(runnable []int, cur int, step int) int
	// Choose returns a data choice in [0, n) for n >= 2.
	Choose(n int) int
}

// Yielder is implemented by strategies that want to know when a task spins:
// it reached a scheduling point (Task.Yield) at which it retries an access
// that can succeed only after another task acts, such as a lockless
// page-cache lookup of a folio whose reference count a migration froze.
// Yielded(task) is called just before that point's Next. Running the
// spinner again before anyone else changes nothing (its retry has no
// effect of its own), so a strategy may prefer any other runnable task
// there without losing an interleaving; PCT and Bytes (past its bytes) do,
// where they would otherwise spin the task until the step limit.
type Yielder interface {
	Yielded(task int)
}

// Windower is implemented by strategies that want to know where TLB races
// live (kernelsim's TLB model tells them):
//   - WindowReduce: a task reduced a PTE (cleared it, pointed it elsewhere,
//     write-protected it) whose old translation another task's TLB still
//     holds, and owes a flush; until it flushes, the other may use the
//     stale translation;
//   - WindowCopy: a task copied a page (a COW copy, a migration's copy)
//     that another task can still store to through a writable
//     translation: a store between the copy and the page's replacement is
//     lost to the copy;
//   - WindowFill: a task's user access filled its TLB: the translation it
//     holds may go stale when another task changes the PTE;
//   - WindowWalk: a task read a page-table pointer locklessly and will
//     use it under a lock it has yet to take (kind's comment);
//   - WindowRelock: a task dropped the locks of a change it relies on
//     until it takes locks again (kind's comment).
//
// Window(task, kind) is called at the event, before the task's next
// scheduling point. A strategy may preempt the task there (or a few points
// later, once it has dropped its locks) so that the others act inside the
// window.
type Windower interface {
	Window(task int, kind WindowKind)
}

// WindowKind says what opened a window (Windower).
type WindowKind uint8

const (
	WindowReduce WindowKind = iota
	WindowCopy
	WindowFill
	// WindowWalk: a lockless read of a page-table pointer (the PMD
	// behind pte_offset_map, hugetlb_walk's PUD), which the task uses
	// after it takes a lock; in between, another task may detach or
	// unshare the table, which the lock's re-check or the walker's own
	// exclusion must catch.
	WindowWalk
	// WindowRelock: a task changed page tables under locks it dropped
	// again, and goes on to act as if the change still held under locks
	// it has yet to take (hugetlb_vm_op_split's unshare before
	// __split_vma's locks, variant hugetlb_split-before-vma-lock); in
	// between, another task may undo the change.
	WindowRelock
)

// Window tells the run's strategy, when it is a Windower, that t opened a
// window of kind (see Windower). In free mode it does nothing.
func (t *Task) Window(kind WindowKind) {
	if w, ok := t.s.strat.(Windower); ok && t.s.opts.Mode != Free {
		w.Window(t.id, kind)
	}
}
