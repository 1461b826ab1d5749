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
