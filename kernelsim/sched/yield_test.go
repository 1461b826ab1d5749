package sched_test

import (
	"testing"

	"mmrace/kernelsim/sched"
)

// spinner runs a task that spins until the other sets done: the first
// look is a plain point, every retry a Yield (or a Point without yield).
func spinner(strat sched.Strategy, yield bool) sched.Result {
	s := sched.New(sched.Options{Strategy: strat, MaxSteps: 5000})
	done := false
	s.Spawn(func(t *sched.Task) {
		t.Point(sched.KindRead, "done", "spin", "")
		for !done {
			if yield {
				t.Yield(sched.KindRead, "done", "spin", "retry")
			} else {
				t.Point(sched.KindRead, "done", "spin", "retry")
			}
		}
	})
	s.Spawn(func(t *sched.Task) {
		pad(t, 3)
		t.Point(sched.KindWrite, "done", "set", "")
		done = true
	})
	return s.Run()
}

// TestYieldEndsSpins: a task spinning on a condition only another task can
// make true runs that task under PCT whatever the priorities, and under
// Bytes once its bytes are spent; without Yield the spinner keeps the
// processor (PCT with the spinner on top, Bytes with no bytes) until the
// step limit, which shows the test can fail.
func TestYieldEndsSpins(t *testing.T) {
	limit := 0
	for seed := uint64(0); seed < 50; seed++ {
		if r := spinner(sched.NewPCT(seed, 2, 20), true); r.Verdict.Outcome != sched.OK {
			t.Fatalf("PCT seed %d with Yield: %v", seed, r.Verdict.Outcome)
		}
		if r := spinner(sched.NewPCT(seed, 2, 20), false); r.Verdict.Outcome == sched.StepLimit {
			limit++
		}
	}
	if limit == 0 {
		t.Fatal("no PCT seed let the spinner keep the processor without Yield: the test cannot fail")
	}
	if r := spinner(sched.NewBytes(nil), true); r.Verdict.Outcome != sched.OK {
		t.Fatalf("Bytes with Yield: %v", r.Verdict.Outcome)
	}
	if r := spinner(sched.NewBytes(nil), false); r.Verdict.Outcome != sched.StepLimit {
		t.Fatalf("Bytes without Yield: %v, want the step limit", r.Verdict.Outcome)
	}
}
