package sched

// AtNextPoint arranges for fn to run once, in t's own goroutine, at the
// start of t's next scheduling point, before the strategy decides who runs:
// the end of the step t is performing now. kernelsim/ksync uses it for
// release-early mutants (a lock released at the end of the first step it
// protects). Several calls before one point run in the order they were
// made; fn may call AtNextPoint again for the point after. Called by the
// task itself.
func (t *Task) AtNextPoint(fn func()) {
	if prev := t.atPoint; prev != nil {
		t.atPoint = func() { prev(); fn() }
		return
	}
	t.atPoint = fn
}

// runAtPoint runs and clears the functions AtNextPoint queued.
func (t *Task) runAtPoint() {
	fn := t.atPoint
	t.atPoint = nil
	fn()
}
