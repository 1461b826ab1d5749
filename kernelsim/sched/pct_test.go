package sched_test

import (
	"fmt"
	"math"
	"testing"

	"mmrace/kernelsim/sched"
)

// pad makes a task take n extra scheduling points.
func pad(t *sched.Task, n int) {
	for i := 0; i < n; i++ {
		t.Point(sched.KindNote, "pad", "", "")
	}
}

// depth2 is the textbook lost update (an atomicity violation of depth 2):
// two tasks increment x with a read and a write at separate scheduling
// points; a third task only adds steps. The bug needs two orderings: t2's
// read before t1's write, and t1's read before t2's write.
func depth2(strat sched.Strategy) (sched.Result, bool) {
	s := sched.New(sched.Options{Strategy: strat})
	x := 0
	inc := func(t *sched.Task) {
		pad(t, 3)
		t.Point(sched.KindRead, "x", "inc", "")
		r := x
		t.Point(sched.KindWrite, "x", "inc", "")
		x = r + 1
		pad(t, 3)
	}
	s.Spawn(inc)
	s.Spawn(inc)
	s.Spawn(func(t *sched.Task) { pad(t, 6) })
	res := s.Run()
	return res, x != 2
}

// depth3 is a ping-pong ordering bug of depth 3 between two tasks (and a
// third that only adds steps): t1 sets a, t2 sees a and sets b, t1 sees b and
// sets c, t2 sees c. It needs a1 < b1 < a2 < b2: three ordering constraints.
func depth3(strat sched.Strategy) (sched.Result, bool) {
	s := sched.New(sched.Options{Strategy: strat})
	var a, b, c, bug bool
	s.Spawn(func(t *sched.Task) {
		pad(t, 2)
		t.Point(sched.KindWrite, "a", "t1", "")
		a = true
		pad(t, 2)
		t.Point(sched.KindRead, "b", "t1", "")
		if b {
			c = true
		}
		pad(t, 2)
	})
	s.Spawn(func(t *sched.Task) {
		pad(t, 2)
		t.Point(sched.KindRead, "a", "t2", "")
		if a {
			b = true
		}
		pad(t, 2)
		t.Point(sched.KindRead, "c", "t2", "")
		bug = c
		pad(t, 2)
	})
	s.Spawn(func(t *sched.Task) { pad(t, 8) })
	res := s.Run()
	return res, bug
}

// TestPCTBound checks that PCT finds a depth-2 and a depth-3 bug within ten
// times the number of runs its guarantee predicts. With n tasks and k steps
// one PCT run finds a depth-d bug with probability p >= 1/(n*k^(d-1)), so
// the expected number of runs is at most 1/p; the test allows 10/p runs for
// each of ten fixed seeds (the chance of exceeding 10/p by bad luck alone is
// below e^-10 per seed).
func TestPCTBound(t *testing.T) {
	for _, tc := range []struct {
		name  string
		depth int
		prog  func(sched.Strategy) (sched.Result, bool)
	}{
		{"lost-update-depth2", 2, depth2},
		{"ping-pong-depth3", 3, depth3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// k: the steps of one run, measured (every run has the same count).
			res, _ := tc.prog(sched.NewBytes(nil))
			n, k := 3, res.Steps
			bound := float64(n) * math.Pow(float64(k), float64(tc.depth-1))
			limit := int(10 * bound)
			t.Logf("bound: n=%d k=%d d=%d: p >= 1/%.0f per run; expected runs <= %.0f; allowed %d", n, k, tc.depth, bound, bound, limit)
			total := 0
			for seed := uint64(1); seed <= 10; seed++ {
				found := -1
				for run := 1; run <= limit; run++ {
					// One PCT instance per run: run r of seed s uses seed s*1e6+r.
					if _, bug := tc.prog(sched.NewPCT(seed*1_000_000+uint64(run), tc.depth, k)); bug {
						found = run
						break
					}
				}
				if found < 0 {
					t.Fatalf("seed %d: depth-%d bug not found in %d runs (10x the PCT bound %.0f)", seed, tc.depth, limit, bound)
				}
				total += found
			}
			t.Logf("mean runs to detection over 10 seeds: %.1f (bound %.0f)", float64(total)/10, bound)
		})
	}
}

// TestPCTDepthMatters checks the programs are what they claim: PCT of depth
// 1 (no change points) never finds the depth-3 bug; depth-3 PCT does.
func TestPCTDepthMatters(t *testing.T) {
	res, _ := depth3(sched.NewBytes(nil))
	for seed := uint64(0); seed < 2000; seed++ {
		if _, bug := depth3(sched.NewPCT(seed, 1, res.Steps)); bug {
			t.Fatalf("depth-1 PCT found the depth-3 bug (seed %d): the program is shallower than claimed", seed)
		}
	}
	found := 0
	for seed := uint64(0); seed < 2000; seed++ {
		if _, bug := depth3(sched.NewPCT(seed, 3, res.Steps)); bug {
			found++
		}
	}
	if found == 0 {
		t.Fatal("depth-3 PCT never found the depth-3 bug in 2000 runs")
	}
	t.Logf("depth-3 PCT: %d of 2000 runs find it", found)
}

func ExampleNewPCT() {
	res, bug := depth2(sched.NewPCT(7, 2, 30))
	fmt.Println(res.Verdict, bug)
	// Output: ok false
}
