package sched_test

import (
	"math"
	"testing"

	"mmrace/kernelsim/sched"
)

// small programs of two tasks, each returning whether the run hit its bug;
// few enough scheduling points that DFS enumerates every schedule.
type smallProg struct {
	name  string
	depth int // the bug's depth; 0: no bug
	run   func(sched.Strategy) (sched.Result, bool)
}

func runTwo(strat sched.Strategy, t1, t2 func(*sched.Task)) sched.Result {
	s := sched.New(sched.Options{Strategy: strat})
	s.Spawn(t1)
	s.Spawn(t2)
	return s.Run()
}

var smallProgs = []smallProg{
	{"order-depth1", 1, func(st sched.Strategy) (sched.Result, bool) {
		// t2 reads a before t1 writes it: one ordering constraint.
		a, bug := false, false
		res := runTwo(st, func(t *sched.Task) {
			pad(t, 1)
			t.Point(sched.KindWrite, "a", "t1", "")
			a = true
		}, func(t *sched.Task) {
			pad(t, 1)
			t.Point(sched.KindRead, "a", "t2", "")
			bug = !a
		})
		return res, bug
	}},
	{"lost-update-depth2", 2, func(st sched.Strategy) (sched.Result, bool) {
		x := 0
		inc := func(t *sched.Task) {
			pad(t, 1)
			t.Point(sched.KindRead, "x", "inc", "")
			r := x
			t.Point(sched.KindWrite, "x", "inc", "")
			x = r + 1
		}
		res := runTwo(st, inc, inc)
		return res, x != 2
	}},
	{"ping-pong-depth3", 3, func(st sched.Strategy) (sched.Result, bool) {
		var a, b, c, bug bool
		res := runTwo(st, func(t *sched.Task) {
			t.Point(sched.KindWrite, "a", "t1", "")
			a = true
			pad(t, 1)
			t.Point(sched.KindRead, "b", "t1", "")
			if b {
				c = true
			}
		}, func(t *sched.Task) {
			t.Point(sched.KindRead, "a", "t2", "")
			if a {
				b = true
			}
			pad(t, 1)
			t.Point(sched.KindRead, "c", "t2", "")
			bug = c
		})
		return res, bug
	}},
	{"locked-update-no-bug", 0, func(st sched.Strategy) (sched.Result, bool) {
		// The lost update made atomic: read and write in one step.
		x := 0
		inc := func(t *sched.Task) {
			pad(t, 2)
			t.Point(sched.KindWrite, "x", "inc", "")
			x++
		}
		res := runTwo(st, inc, inc)
		return res, x != 2
	}},
}

// dfsAll runs every schedule of p: whether one hits the bug, and the most
// steps a run takes.
func dfsAll(t *testing.T, p smallProg) (buggy, total, maxSteps int) {
	d := sched.NewDFS()
	for {
		res, bug := p.run(d)
		total++
		if bug {
			buggy++
		}
		maxSteps = max(maxSteps, res.Steps)
		if !d.Advance() {
			return
		}
		if total > 100_000 {
			t.Fatalf("%s: too many schedules for DFS", p.name)
		}
	}
}

// permutations returns every permutation of base.
func permutations(base []int) [][]int {
	if len(base) <= 1 {
		return [][]int{append([]int(nil), base...)}
	}
	var out [][]int
	for i := range base {
		rest := append(append([]int(nil), base[:i]...), base[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]int{base[i]}, p...))
		}
	}
	return out
}

// exactPCT runs p under every draw of PCT of depth d (every priority
// permutation, every change-point vector in [1,k]^(d-1)) and returns the
// fraction of draws that hit the bug: PCT's exact probability per run.
func exactPCT(p smallProg, n, k, d int) float64 {
	base := make([]int, n)
	for i := range base {
		base[i] = d + i
	}
	hits, draws := 0, 0
	change := make([]int, d-1)
	var rec func(i int)
	rec = func(i int) {
		if i == d-1 {
			for _, prio := range permutations(base) {
				draws++
				if _, bug := p.run(sched.NewPCTDraw(d, k, prio, change)); bug {
					hits++
				}
			}
			return
		}
		for c := 1; c <= k; c++ {
			change[i] = c
			rec(i + 1)
		}
	}
	rec(0)
	return float64(hits) / float64(draws)
}

// TestPCTBoundAgainstDFS checks the per-program bound that mmrace run and
// mmrace check state against the exhaustive answer on small programs: DFS
// over every schedule says whether the bug exists; PCT's exact probability
// per run (every draw enumerated) is zero below the bug's depth and at
// least the bound 1/(n*k^(d-1)) at and above it; and the confidence stated
// after R runs never exceeds the true probability that R runs hit the bug
// (nor claims anything for a program without one).
func TestPCTBoundAgainstDFS(t *testing.T) {
	const n = 2
	for _, p := range smallProgs {
		t.Run(p.name, func(t *testing.T) {
			buggy, total, k := dfsAll(t, p)
			if (buggy > 0) != (p.depth > 0) {
				t.Fatalf("DFS: %d of %d schedules hit the bug, but the program's depth is %d", buggy, total, p.depth)
			}
			for d := 1; d <= 3; d++ {
				exact := exactPCT(p, n, k, d)
				bound := sched.PCTRunBound(n, k, d)
				t.Logf("DFS %d/%d buggy; depth %d: exact PCT probability %.5f, bound %.5f (n=%d k=%d)", buggy, total, d, exact, bound, n, k)
				switch {
				case p.depth == 0 && exact != 0:
					t.Errorf("depth %d: PCT hits a bug DFS says does not exist (%.5f)", d, exact)
				case p.depth > 0 && d < p.depth && exact != 0:
					t.Errorf("depth %d: PCT hits a depth-%d bug with fewer change points (%.5f): the program is shallower than claimed", d, p.depth, exact)
				case p.depth > 0 && d >= p.depth && exact < bound:
					t.Errorf("depth %d: exact probability %.5f is below the bound %.5f", d, exact, bound)
				}
				// The confidence after R runs at depth d.
				var runs sched.PCTRuns
				runs.Tasks = n
				for r := 0; r < 50; r++ {
					runs.Add(d, k, k)
				}
				truth := 1 - math.Pow(1-exact, 50)
				for dd := 1; dd <= d; dd++ {
					stated := runs.Confidence(dd)
					if p.depth == dd && stated > truth+1e-12 {
						t.Errorf("depth %d runs, bug depth %d: stated confidence %.5f exceeds the truth %.5f", d, dd, stated, truth)
					}
				}
			}
		})
	}
}

// TestPCTRunsCoverage: only runs deep enough and within their k count.
func TestPCTRunsCoverage(t *testing.T) {
	var r sched.PCTRuns
	r.Tasks = 3
	r.Add(2, 100, 80)
	r.Add(3, 100, 90)
	r.Add(3, 100, 120) // took more steps than its k: not covered
	if r.Covered(1) != 2 || r.Covered(3) != 1 || r.Covered(4) != 0 {
		t.Fatalf("covered %d %d %d", r.Covered(1), r.Covered(3), r.Covered(4))
	}
	want3 := sched.PCTRunBound(3, 100, 3)
	if got := r.Confidence(3); math.Abs(got-want3) > 1e-15 {
		t.Fatalf("confidence(3) %v, want %v", got, want3)
	}
	if r.Confidence(4) != 0 {
		t.Fatal("a confidence for a depth no run reached")
	}
}
