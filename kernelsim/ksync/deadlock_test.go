package ksync_test

import (
	"strings"
	"testing"

	"mmrace/internal/lockprog"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

func mustParse(t *testing.T, text string) *lockprog.Program {
	t.Helper()
	p, err := lockprog.Parse("test", text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// exhaust runs p under every schedule and calls check on each result.
func exhaust(t *testing.T, p *lockprog.Program, cfg ksync.Config, check func(sched.Result)) int {
	t.Helper()
	d := sched.NewDFS()
	for runs := 1; ; runs++ {
		check(lockprog.Run(p, sched.Options{Strategy: d}, cfg))
		if !d.Advance() {
			return runs
		}
		if runs > 200_000 {
			t.Fatal("too many schedules")
		}
	}
}

const abba = `
t1: down_write A
t1: down_write B
t1: up_write B
t1: up_write A
t2: down_write B
t2: down_write A
t2: up_write A
t2: up_write B
`

// TestABBADeadlock: in every schedule of ABBA that deadlocks, the deadlock
// is reported with its wait-for cycle; the others complete.
func TestABBADeadlock(t *testing.T) {
	p := mustParse(t, abba)
	dead, ok := 0, 0
	runs := exhaust(t, p, ksync.Config{SemanticOnly: true}, func(r sched.Result) {
		switch r.Verdict.Outcome {
		case sched.Deadlock:
			d := r.Verdict.Violation.Detail
			if !strings.Contains(d, "t1 → B → t2 → A → t1") && !strings.Contains(d, "t2 → A → t1 → B → t2") {
				t.Fatalf("deadlock without its cycle: %s\n%s", d, r.Trace.String())
			}
			dead++
		case sched.OK:
			ok++
		default:
			t.Fatalf("unexpected %v", r.Verdict)
		}
	})
	t.Logf("%d schedules: %d deadlock (cycle printed in each), %d complete", runs, dead, ok)
	if dead == 0 || ok == 0 {
		t.Fatal("expected both deadlocking and completing schedules")
	}
}

// TestABBALockdep: with lockdep on, the inversion is reported in a schedule
// that does not deadlock (t1 runs to completion, then t2), and in every
// schedule the run ends with a lockdep report or a deadlock, never clean.
func TestABBALockdep(t *testing.T) {
	p := mustParse(t, abba)
	r := lockprog.Run(p, sched.Options{Strategy: sched.NewBytes(nil)}, ksync.Config{})
	if r.Verdict.Outcome != sched.Failed || r.Verdict.Violation.Invariant != "lockdep" ||
		!strings.Contains(r.Verdict.Violation.Detail, "circular locking dependency") {
		t.Fatalf("serial schedule: got %v", r.Verdict)
	}
	t.Logf("serial schedule: %v", r.Verdict)
	exhaust(t, p, ksync.Config{}, func(r sched.Result) {
		if r.Verdict.Outcome == sched.OK {
			t.Fatalf("ABBA passed with lockdep on:\n%s", r.Trace.String())
		}
	})
}

// TestLockdepAcrossRuns: one graph shared by two runs, each taking one of the
// two orders, reports the inversion in the second run.
func TestLockdepAcrossRuns(t *testing.T) {
	g := ksync.NewLockdep()
	ab := mustParse(t, "t1: down_read A\nt1: down_read B\nt1: up_read B\nt1: up_read A")
	ba := mustParse(t, "t1: down_read B\nt1: down_read A\nt1: up_read A\nt1: up_read B")
	if r := lockprog.Run(ab, sched.Options{}, ksync.Config{Lockdep: g}); r.Verdict.Outcome != sched.OK {
		t.Fatalf("first run: %v", r.Verdict)
	}
	if r := lockprog.Run(ba, sched.Options{}, ksync.Config{}); r.Verdict.Outcome != sched.OK {
		t.Fatalf("fresh graph: %v", r.Verdict)
	}
	r := lockprog.Run(ba, sched.Options{}, ksync.Config{Lockdep: g})
	if r.Verdict.Violation.Invariant != "lockdep" {
		t.Fatalf("shared graph: got %v", r.Verdict)
	}
}

// d11b is the VMA-read-lock vs mmap_lock design deadlock (reference B.2,
// D.11b): t1, a fault holding V1's read lock, blocks on mmap_read_lock while
// t2 holds mmap_lock for write and waits in vma_start_write(V1) for t1.
const d11b = `
t1: vma_read V1
t1: mmap_read_lock M
t1: mmap_read_unlock M
t1: vma_end_read V1
t2: mmap_write_lock M
t2: vma_start_write V1
t2: mmap_write_unlock M
`

// d11bFixed is the kernel's rule (vmf_anon_prepare): from under a VMA read
// lock, mmap_lock is only ever trylocked.
const d11bFixed = `
t1: vma_read V1
t1: mmap_read_trylock M
t1: mmap_read_unlock M
t1: vma_end_read V1
t2: mmap_write_lock M
t2: vma_start_write V1
t2: mmap_write_unlock M
`

func TestVMAReadLockVsMmapLock(t *testing.T) {
	dead := 0
	runs := exhaust(t, mustParse(t, d11b), ksync.Config{SemanticOnly: true}, func(r sched.Result) {
		if r.Verdict.Outcome == sched.Deadlock {
			if d := r.Verdict.Violation.Detail; !strings.Contains(d, "t1 → mmap_lock(mm1) → t2") || !strings.Contains(d, "t2 → V1 → t1") {
				t.Fatalf("deadlock without the cycle: %v", r.Verdict)
			}
			dead++
		} else if r.Verdict.Outcome != sched.OK {
			t.Fatalf("unexpected %v", r.Verdict)
		}
	})
	t.Logf("blocking mmap_read_lock under a VMA read lock: %d of %d schedules deadlock", dead, runs)
	if dead == 0 {
		t.Fatal("D.11b not reproduced")
	}
	// With rule checks on, the breach is reported when it happens, in every
	// schedule where t1 got the VMA read lock, deadlocking or not.
	ruled := 0
	exhaust(t, mustParse(t, d11b), ksync.Config{}, func(r sched.Result) {
		if r.Verdict.Violation.Invariant == "lock-order" {
			ruled++
		} else if r.Verdict.Outcome == sched.Deadlock {
			t.Fatalf("deadlock not preceded by a lock-order report: %v", r.Verdict)
		}
	})
	if ruled == 0 {
		t.Fatal("no lock-order report with rules on")
	}
	// The kernel's trylock is clean in every schedule, rules on and off.
	for _, cfg := range []ksync.Config{{}, {SemanticOnly: true}} {
		exhaust(t, mustParse(t, d11bFixed), cfg, func(r sched.Result) {
			if r.Verdict.Outcome != sched.OK {
				t.Fatalf("trylock version: %v\n%s", r.Verdict, r.Trace.String())
			}
		})
	}
}

func TestFreeModeDeadlock(t *testing.T) {
	p := mustParse(t, abba)
	for i := 0; i < 200; i++ {
		r := lockprog.Run(p, sched.Options{Mode: sched.Free, YieldOneIn: 1, Seed: uint64(i)}, ksync.Config{SemanticOnly: true})
		if r.Verdict.Outcome == sched.Deadlock {
			if !strings.Contains(r.Verdict.Violation.Detail, "wait-for cycle") {
				t.Fatalf("free-mode deadlock without cycle: %v", r.Verdict)
			}
			t.Logf("free mode: deadlock after %d runs: %v", i+1, r.Verdict)
			return
		}
	}
	t.Skip("free mode never deadlocked in 200 runs (timing-dependent)")
}
