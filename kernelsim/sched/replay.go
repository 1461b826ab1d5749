package sched

import (
	"fmt"
	"slices"
)

// Replay re-runs a recorded Schedule. Where the schedule ends before the run
// does, it falls back to the fixed non-preemptive schedule of Bytes (keep the
// current task, else the lowest runnable; at a Yield point the lowest other
// runnable one, so that a task spinning past the recording does not keep
// the processor; data choices answer 0). A recorded
// decision that cannot apply (the task is not runnable, or a task pick
// where a data choice is due) makes the run end with an internal error that
// says where the replay diverged.
type Replay struct {
	Sched Schedule
	// Lenient follows the recording as far as it applies: a recorded task
	// that is not runnable, or a decision of the wrong kind, is replaced by
	// the fallback instead of ending the run. Corpus scenarios use it to run
	// one pinned schedule against the faithful kernel and a variant, whose
	// paths differ once the variant's bug bites.
	Lenient bool
	pos     int
	err     error
	yielded int // 1 + the task at a Yield point, for the next Next
}

// NewReplay returns a strategy replaying s exactly.
func NewReplay(s Schedule) *Replay { return &Replay{Sched: s} }

// NewLenientReplay returns a strategy following s where it applies.
func NewLenientReplay(s Schedule) *Replay { return &Replay{Sched: s, Lenient: true} }

// Reset implements Strategy.
func (r *Replay) Reset(int) { r.pos, r.err, r.yielded = 0, nil, 0 }

// Yielded implements Yielder: it matters only to the fallback.
func (r *Replay) Yielded(task int) { r.yielded = task + 1 }

// fallback is Bytes' schedule once its bytes are used up.
func (r *Replay) fallback(runnable []int, cur int, spin bool) int {
	if cur >= 0 && slices.Contains(runnable, cur) && !spin {
		return cur
	}
	for _, t := range runnable {
		if t != cur {
			return t
		}
	}
	return runnable[0]
}

// Next implements Strategy.
func (r *Replay) Next(runnable []int, cur int, step int) int {
	spin := r.yielded == cur+1 && cur >= 0
	r.yielded = 0 // a hint for this decision only
	if len(runnable) == 1 {
		return runnable[0]
	}
	if r.pos >= len(r.Sched) {
		return r.fallback(runnable, cur, spin)
	}
	d := r.Sched[r.pos]
	r.pos++
	if d.Data || !slices.Contains(runnable, d.Value) {
		if r.Lenient {
			return r.fallback(runnable, cur, spin)
		}
		r.err = fmt.Errorf("replay diverged at decision %d (step %d): recorded %s, runnable %v", r.pos-1, step, d, runnable)
		return -1
	}
	return d.Value
}

// Choose implements Strategy.
func (r *Replay) Choose(n int) int {
	if r.pos >= len(r.Sched) {
		return 0
	}
	d := r.Sched[r.pos]
	r.pos++
	if !d.Data || d.Value >= n {
		if r.Lenient {
			return 0
		}
		r.err = fmt.Errorf("replay diverged at decision %d: recorded %s, a data choice in [0,%d) is due", r.pos-1, d, n)
		return 0
	}
	return d.Value
}

// Err returns why the last run diverged from the recording, or nil.
func (r *Replay) Err() error { return r.err }

// Exhausted reports whether the last run used every recorded decision.
func (r *Replay) Exhausted() bool { return r.pos >= len(r.Sched) }

func (d Decision) String() string {
	if d.Data {
		return fmt.Sprintf("data %d", d.Value)
	}
	return "task " + TaskName(d.Value)
}
