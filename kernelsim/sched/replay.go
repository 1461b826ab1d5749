package sched

import (
	"fmt"
	"slices"
)

// Replay re-runs a recorded Schedule. Where the schedule ends before the run
// does, it falls back to the fixed non-preemptive schedule of Bytes (keep the
// current task, else the lowest runnable; data choices answer 0). A recorded
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
}

// NewReplay returns a strategy replaying s exactly.
func NewReplay(s Schedule) *Replay { return &Replay{Sched: s} }

// NewLenientReplay returns a strategy following s where it applies.
func NewLenientReplay(s Schedule) *Replay { return &Replay{Sched: s, Lenient: true} }

// Reset implements Strategy.
func (r *Replay) Reset(int) { r.pos, r.err = 0, nil }

// Next implements Strategy.
func (r *Replay) Next(runnable []int, cur int, step int) int {
	if len(runnable) == 1 {
		return runnable[0]
	}
	if r.pos >= len(r.Sched) {
		if cur >= 0 && slices.Contains(runnable, cur) {
			return cur
		}
		return runnable[0]
	}
	d := r.Sched[r.pos]
	r.pos++
	if d.Data || !slices.Contains(runnable, d.Value) {
		if r.Lenient {
			if cur >= 0 && slices.Contains(runnable, cur) {
				return cur
			}
			return runnable[0]
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
