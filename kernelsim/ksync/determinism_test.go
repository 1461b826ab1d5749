package ksync_test

import (
	"math/rand/v2"
	"testing"

	"mmrace/internal/lockprog"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// TestDeterminismReplay generates 1,000 random lock-heavy programs (3-4
// tasks; rwsem, spinlock, trylock, folio lock, mmap_lock and VMA-lock, RCU
// operations), runs each under a random or PCT schedule, replays it from its
// printed replay string, and requires the same trace hash and verdict.
func TestDeterminismReplay(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	outcomes := map[string]int{}
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(uint64(i), 42))
		p := lockprog.Generate(rng, 3+i%2)
		cfg := ksync.Config{SemanticOnly: i%3 == 0}
		var strat sched.Strategy = sched.NewRandom(uint64(i))
		if i%2 == 1 {
			strat = sched.NewPCT(uint64(i), 3, 120)
		}
		first := lockprog.Run(p, sched.Options{Strategy: strat}, cfg)
		replay := first.ReplayString()
		s, err := sched.ParseSchedule(replay)
		if err != nil {
			t.Fatalf("program %d: replay string %q: %v", i, replay, err)
		}
		again := lockprog.Run(p, sched.Options{Strategy: sched.NewReplay(s)}, cfg)
		if again.Trace.Hash() != first.Trace.Hash() || again.Verdict != first.Verdict {
			t.Fatalf("program %d diverged on replay %s\nprogram:\n%s\nfirst: %v\nagain: %v\nfirst trace:\n%s\nreplayed trace:\n%s",
				i, replay, p, first.Verdict, again.Verdict, first.Trace.Tail(30), again.Trace.Tail(30))
		}
		key := first.Verdict.Outcome.String()
		if first.Verdict.Outcome == sched.Failed {
			key = first.Verdict.Violation.Invariant
		}
		if first.Verdict.Outcome == sched.Internal {
			t.Fatalf("program %d: harness error: %v\n%s", i, first.Verdict, p)
		}
		outcomes[key]++
	}
	t.Logf("%d programs replayed identically; outcomes %v", n, outcomes)
	if outcomes["ok"] == 0 || outcomes["deadlock"] == 0 {
		t.Fatalf("the generator should produce both clean and deadlocking runs: %v", outcomes)
	}
}
