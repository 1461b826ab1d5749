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
