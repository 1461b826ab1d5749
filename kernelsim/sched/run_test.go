package sched_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"mmrace/kernelsim/sched"
)

// gate is a Waitable nobody releases: parking on it blocks forever.
type gate struct{ name string }

func (g gate) Name() string            { return g.name }
func (g gate) Holders(buf []int) []int { return buf }
func pads(t *sched.Task, n int)        { pad(t, n) }
func spawnN(s *sched.Sched, n int, fn func(*sched.Task)) {
	for i := 0; i < n; i++ {
		s.Spawn(fn)
	}
}

func TestEndings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    sched.Options
		task    func(*sched.Task)
		outcome sched.Outcome
		detail  string
	}{
		{"ok", sched.Options{}, func(t *sched.Task) { pads(t, 5) }, sched.OK, ""},
		{"violation", sched.Options{}, func(t *sched.Task) {
			pads(t, 3)
			if t.ID() == 1 {
				t.Fail(sched.Violation{Invariant: "test-invariant", Detail: "boom"})
			}
			pads(t, 3)
		}, sched.Failed, "boom"},
		{"deadlock-no-cycle", sched.Options{}, func(t *sched.Task) { pads(t, 2); t.Park(gate{"gate"}) }, sched.Deadlock, "t1 waits for gate held by nobody"},
		{"step-limit", sched.Options{MaxSteps: 100}, func(t *sched.Task) {
			for {
				pads(t, 1)
			}
		}, sched.StepLimit, "exceeded 100"},
		{"timeout", sched.Options{MaxSteps: 1 << 30, Timeout: time.Millisecond}, func(t *sched.Task) {
			for {
				pads(t, 1)
			}
		}, sched.Timeout, "watchdog"},
		{"panic", sched.Options{}, func(t *sched.Task) {
			pads(t, 2)
			var m map[string]int
			m["x"]++ // a harness bug: must become a verdict, not a crash
		}, sched.Internal, "mmrace internal error: panic"},
	} {
		for _, mode := range []sched.Mode{sched.Controlled, sched.Free} {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				opts := tc.opts
				opts.Mode = mode
				s := sched.New(opts)
				spawnN(s, 3, tc.task)
				res := s.Run()
				if res.Verdict.Outcome != tc.outcome {
					t.Fatalf("outcome %v, want %v: %v", res.Verdict.Outcome, tc.outcome, res.Verdict)
				}
				if !strings.Contains(res.Verdict.Violation.Detail, tc.detail) {
					t.Fatalf("detail %q does not contain %q", res.Verdict.Violation.Detail, tc.detail)
				}
			})
		}
	}
}

// TestNoLeaks ends 10,000 runs early (violation, deadlock, step limit, and
// harness panics) and checks that no task goroutine survives them.
func TestNoLeaks(t *testing.T) {
	runs := 10_000
	if testing.Short() {
		runs = 1_000
	}
	base := runtime.NumGoroutine()
	endings := map[sched.Outcome]int{}
	for i := 0; i < runs; i++ {
		endings[endingProgram(sched.Options{Strategy: sched.NewRandom(uint64(i))}, i).Verdict.Outcome]++
	}
	if endings[sched.OK] != 0 || endings[sched.Failed] == 0 || endings[sched.Deadlock] == 0 || endings[sched.StepLimit] == 0 || endings[sched.Internal] == 0 {
		t.Fatalf("endings %v: every run should end early, each way at least once", endings)
	}
	// A goroutine that has returned from its last defer is still counted for
	// a moment; like goleak, give the count a second to settle. A leaked task
	// goroutine never would.
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > base && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(time.Millisecond)
	}
	if n > base {
		t.Fatalf("goroutines: %d before, %d after %d aborted runs", base, n, runs)
	}
	t.Logf("%d runs ended early %v; goroutines %d before and after", runs, endings, base)
}

func TestDeterministic(t *testing.T) {
	prog := func(strat sched.Strategy) sched.Result {
		s := sched.New(sched.Options{Strategy: strat})
		spawnN(s, 4, func(t *sched.Task) {
			for i := 0; i < 10; i++ {
				t.Point(sched.KindWrite, "x", "w", "")
				if t.Choose(3, "c") == 2 {
					pads(t, 1)
				}
			}
		})
		return s.Run()
	}
	for seed := uint64(0); seed < 50; seed++ {
		for _, mk := range []func() sched.Strategy{
			func() sched.Strategy { return sched.NewRandom(seed) },
			func() sched.Strategy { return sched.NewPCT(seed, 3, 80) },
			func() sched.Strategy { return sched.NewBytes([]byte{byte(seed), 0x90, 0x81, byte(seed * 7), 0xff}) },
		} {
			a, b := prog(mk()), prog(mk())
			if a.Trace.Hash() != b.Trace.Hash() {
				t.Fatalf("seed %d: same strategy, different traces", seed)
			}
			sch, err := sched.ParseSchedule(a.ReplayString())
			if err != nil {
				t.Fatal(err)
			}
			r := prog(sched.NewReplay(sch))
			if r.Trace.Hash() != a.Trace.Hash() || r.Verdict != a.Verdict {
				t.Fatalf("seed %d: replay of %s differs", seed, a.ReplayString())
			}
		}
	}
}

func TestReplayDivergence(t *testing.T) {
	s := sched.New(sched.Options{Strategy: sched.NewReplay(sched.Schedule{{Value: 7}})})
	spawnN(s, 2, func(t *sched.Task) { pads(t, 2) })
	res := s.Run()
	if res.Verdict.Outcome != sched.Internal || !strings.Contains(res.Verdict.Violation.Detail, "replay diverged") {
		t.Fatalf("got %v", res.Verdict)
	}
}

func TestScheduleString(t *testing.T) {
	s := sched.Schedule{{Value: 0}, {Value: 0}, {Value: 0}, {Value: 2}, {Data: true, Value: 300}, {Value: 15}, {Value: 1}}
	str := s.String()
	if !strings.HasPrefix(str, "v1.") {
		t.Fatalf("%q lacks the version", str)
	}
	got, err := sched.ParseSchedule(str)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(s) {
		t.Fatalf("round trip: %v != %v", got, s)
	}
	for i := range s {
		if got[i] != s[i] {
			t.Fatalf("round trip: %v != %v", got, s)
		}
	}
	for _, bad := range []struct{ in, want string }{
		{"", "does not start with a version"},
		{"hello", "does not start with a version"},
		{"v2.AAAA", "unsupported version"},
		{"v1.!!!", "not base64url"},
		{"v1.AA", "too short"},
		{str[:len(str)-2] + "AA", "checksum mismatch"},
	} {
		_, err := sched.ParseSchedule(bad.in)
		if err == nil || !errors.Is(err, sched.ErrBadSchedule) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseSchedule(%q) = %v, want an error containing %q", bad.in, err, bad.want)
		}
	}
}

func TestFreeModeParallel(t *testing.T) {
	s := sched.New(sched.Options{Mode: sched.Free, YieldOneIn: 3, Seed: 1})
	spawnN(s, 4, func(t *sched.Task) { pads(t, 200) })
	res := s.Run()
	if res.Verdict.Outcome != sched.OK || res.Steps < 800 {
		t.Fatalf("free run: %v after %d steps", res.Verdict, res.Steps)
	}
}
