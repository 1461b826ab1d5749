package sched_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"mmrace/kernelsim/sched"
)

// endingProgram is run i of TestNoLeaks's mix: 3 or 4 tasks whose run ends
// early by a violation, a deadlock, the step limit or a harness panic.
func endingProgram(opts sched.Options, i int) sched.Result {
	opts.MaxSteps = 40
	s := sched.New(opts)
	kind := i % 4
	for j := 0; j < 3+i%2; j++ {
		s.Spawn(func(t *sched.Task) {
			pads(t, 3+t.ID())
			switch {
			case kind == 0 && t.ID() == 1:
				t.Fail(sched.Violation{Invariant: "test", Detail: "x"})
			case kind == 1:
				t.Park(gate{"g"})
			case kind == 2:
				for {
					pads(t, 1)
				}
			case kind == 3 && t.ID() == 2:
				panic("model bug")
			}
			pads(t, 3)
		})
	}
	return s.Run()
}

// TestPoolReuse runs 2,000 runs that end every way (completed, violation,
// deadlock, step limit, panic), in both modes, on one pool: every run's
// tasks have been unwound when Run returns, so the pool never needs more
// goroutines than the largest run has tasks, and Close ends them all
// (goleak checks that at the end of the package).
func TestPoolReuse(t *testing.T) {
	p := sched.NewPool()
	base := runtime.NumGoroutine()
	endings := map[sched.Outcome]int{}
	for i := 0; i < 2000; i++ {
		opts := sched.Options{Strategy: sched.NewRandom(uint64(i)), Pool: p}
		if i%5 == 4 {
			opts.Mode, opts.YieldOneIn, opts.Seed, opts.DeadlockAfter = sched.Free, 2, uint64(i), 2*time.Millisecond
		}
		var res sched.Result
		if i%3 == 0 {
			s := sched.New(opts)
			spawnN(s, 2+i%3, func(t *sched.Task) { pads(t, 5) })
			res = s.Run()
		} else {
			res = endingProgram(opts, i)
		}
		endings[res.Verdict.Outcome]++
	}
	if got := p.Started(); got > 4 {
		t.Fatalf("the pool started %d goroutines for runs of at most 4 tasks", got)
	}
	// Like TestNoLeaks, give goroutines that have just returned (of earlier
	// tests, of free-mode watchdogs) a second to be gone.
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > base+p.Started() && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(time.Millisecond)
	}
	if n > base+p.Started() {
		t.Fatalf("goroutines: %d before the runs, %d after with %d in the pool", base, n, p.Started())
	}
	p.Close()
	t.Logf("2000 runs on one pool of %d goroutines; endings %v", p.Started(), endings)
	if len(endings) < 5 {
		t.Fatalf("endings %v: every kind of ending should occur", endings)
	}
}

// TestPoolDeterministic: runs of different programs interleaved on one pool
// give exactly the traces, verdicts and replay strings of the same runs on
// fresh goroutines.
func TestPoolDeterministic(t *testing.T) {
	type result struct {
		hash    uint64
		verdict sched.Verdict
		replay  string
	}
	runAll := func(p *sched.Pool) []result {
		var out []result
		for i := 0; i < 300; i++ {
			var res sched.Result
			switch i % 3 {
			case 0:
				res = amendProgram(sched.NewPCT(uint64(i), 3, 100), sched.Controlled, i%2 == 0, p)
			case 1:
				res = endingProgram(sched.Options{Strategy: sched.NewRandom(uint64(i)), Pool: p}, i)
			default:
				s := sched.New(sched.Options{Strategy: sched.NewBytes([]byte{byte(i), 0x93, 0x80, byte(i * 7)}), Pool: p})
				spawnN(s, 4, func(t *sched.Task) {
					for k := 0; k < 8; k++ {
						t.PointF(sched.KindWrite, "w", sched.Objf("x%d").N(k%3).Detailf("%d of %s").N(k).S(t.Name()))
						if t.Choose(3, "c") == 1 {
							t.Park(gate{"never released"}) // a deadlock for some schedules
						}
					}
				})
				res = s.Run()
			}
			// An internal error's detail ends with the goroutine's stack,
			// which names the goroutine: compare its first line.
			res.Verdict.Violation.Detail, _, _ = strings.Cut(res.Verdict.Violation.Detail, "\n")
			out = append(out, result{res.Trace.Hash(), res.Verdict, res.ReplayString()})
		}
		return out
	}
	fresh := runAll(nil)
	p := sched.NewPool()
	defer p.Close()
	pooled := runAll(p)
	for i := range fresh {
		if fresh[i] != pooled[i] {
			t.Fatalf("run %d: fresh %+v, pooled %+v", i, fresh[i], pooled[i])
		}
	}
}

// TestPoolGoexit: a task that calls runtime.Goexit ends its pooled
// goroutine too; the pool does not hand that goroutine out again.
func TestPoolGoexit(t *testing.T) {
	p := sched.NewPool()
	defer p.Close()
	for i := 0; i < 3; i++ {
		s := sched.New(sched.Options{Pool: p})
		s.Spawn(func(t *sched.Task) { pads(t, 4) })
		s.Spawn(func(t *sched.Task) { pads(t, 2); runtime.Goexit() })
		s.Spawn(func(t *sched.Task) { pads(t, 4) })
		if res := s.Run(); res.Verdict.Outcome != sched.OK {
			t.Fatalf("run %d: %v", i, res.Verdict)
		}
	}
	if got := p.Started(); got != 5 {
		t.Fatalf("started %d goroutines, want 5 (t2's lost to Goexit in each of 3 runs, t1's and t3's reused)", got)
	}
}

// TestRunnerGoexit: the task of a one-task run runs on the goroutine that
// called Run; when it calls runtime.Goexit (as testing.T.FailNow does) that
// goroutine ends there, and nothing is left behind.
func TestRunnerGoexit(t *testing.T) {
	p := sched.NewPool()
	defer p.Close()
	base := runtime.NumGoroutine()
	done := make(chan bool)
	go func() {
		returned := false
		defer func() { done <- returned }()
		s := sched.New(sched.Options{Pool: p})
		s.Spawn(func(t *sched.Task) { pads(t, 3); runtime.Goexit() })
		s.Run()
		returned = true
	}()
	if <-done {
		t.Fatal("Run returned after its runner's goroutine called runtime.Goexit")
	}
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > base && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(time.Millisecond)
	}
	if n > base || p.Started() != 0 {
		t.Fatalf("goroutines: %d before, %d after; the pool started %d", base, n, p.Started())
	}
}

// TestPoolClosed: a run given a closed pool is the caller's bug.
func TestPoolClosed(t *testing.T) {
	p := sched.NewPool()
	p.Close()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "closed Pool") {
			t.Fatalf("recovered %v", r)
		}
	}()
	s := sched.New(sched.Options{Pool: p})
	spawnN(s, 2, func(t *sched.Task) {}) // a one-task run would need no pool
	s.Run()
}

// TestPointAllocs: a scheduling point allocates nothing. Runs of 3 tasks ×
// 100 points and 3 tasks × 1,000 points on a pool, recording into a reused
// trace, differ by a few allocations only: the amortised growth of the
// schedule's decisions (and of the chunks for typed text), a handful of
// doublings, not one allocation per point. Checked for Point, for PointF
// with plain text (as ksync records) and with typed text.
func TestPointAllocs(t *testing.T) {
	p := sched.NewPool()
	defer p.Close()
	var tr sched.Trace
	allocs := func(perTask int, point func(*sched.Task, int)) float64 {
		return testing.AllocsPerRun(20, func() {
			tr.Events = tr.Events[:0]
			runPoints(sched.Options{Strategy: sched.NewRandom(1), Pool: p, Trace: &tr}, 3, perTask, point)
		})
	}
	for _, tc := range []struct {
		name  string
		point func(*sched.Task, int)
	}{{"Point", pointPlain}, {"PointF", pointText}, {"PointF-typed", pointTyped}} {
		small, large := allocs(100, tc.point), allocs(1000, tc.point)
		perPoint := (large - small) / 2700
		t.Logf("%s: %.0f allocations per run of 300 points, %.0f per run of 3,000: %.4f per point", tc.name, small, large, perPoint)
		if large-small > 8 {
			t.Errorf("%s: %.0f more allocations for 2,700 more points: a scheduling point allocates", tc.name, large-small)
		}
	}
}

// TestPoolLateUnpark: in free mode, a task that is parked when the run
// aborts unwinds, and an Unpark made for it after that leaves a token
// behind. The token must not reach the pooled goroutine, which would run
// the finished task again (found by free-mode stress: a negative
// WaitGroup counter). Each run here aborts with task 0 parked and task 1
// unparking it after the abort; the runs after it on the same pool must
// run normally.
func TestPoolLateUnpark(t *testing.T) {
	p := sched.NewPool()
	defer p.Close()
	for i := 0; i < 300; i++ {
		s := sched.New(sched.Options{Mode: sched.Free, Seed: uint64(i), Pool: p, DeadlockAfter: time.Second})
		var parked *sched.Task
		ready := make(chan struct{})
		s.Spawn(func(t *sched.Task) {
			parked = t
			close(ready)
			t.Park(gate{"g"})
		})
		s.Spawn(func(t *sched.Task) {
			<-ready
			time.Sleep(100 * time.Microsecond) // task 0 parks
			defer func() {
				time.Sleep(100 * time.Microsecond) // task 0 unwinds
				t.Unpark(parked)
			}()
			t.Fail(sched.Violation{Invariant: "test", Detail: "abort"})
		})
		if res := s.Run(); res.Verdict.Outcome != sched.Failed {
			t.Fatalf("run %d: %v", i, res.Verdict)
		}
		ok := sched.New(sched.Options{Mode: sched.Free, Seed: uint64(i), Pool: p})
		spawnN(ok, 2, func(t *sched.Task) { pads(t, 3) })
		if res := ok.Run(); res.Verdict.Outcome != sched.OK {
			t.Fatalf("run %d after the late unpark: %v", i, res.Verdict)
		}
	}
}
