package ksync_test

import (
	"fmt"
	"strings"
	"testing"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// siteMutant mutates the acquisitions whose site string is site: the test
// stand-in for mmrace locks' call-stack matcher (which needs the program
// counters; this one only looks at the site in the trace).
func siteMutant(kind ksync.MutantKind, class string, lock string) *ksync.Mutant {
	return &ksync.Mutant{Kind: kind, Class: class, Match: func(a ksync.Acquisition, pcs []uintptr) bool {
		return a.Lock == lock && len(pcs) > 0
	}}
}

func check(t *sched.Task, ok bool, format string, args ...any) {
	if !ok {
		t.Fail(sched.Violation{Invariant: "test", Detail: fmt.Sprintf(format, args...)})
	}
}

func mustOK(t *testing.T, res sched.Result) {
	t.Helper()
	if res.Verdict.Outcome != sched.OK {
		t.Fatalf("%v\n%s", res.Verdict, res.Trace.String())
	}
}

// TestMutantRemoveMutex: a removed spin_lock takes nothing (another task
// gets the lock), is no scheduling point, and its unlock pairs with the
// phantom and touches nothing; rules on, the assertion inside the critical
// section reports what the removal breaks.
func TestMutantRemoveMutex(t *testing.T) {
	for _, rules := range []bool{false, true} {
		mut := siteMutant(ksync.MutantRemove, ksync.ClassTestP.Name, "x")
		var x *ksync.Mutex
		res := run(ksync.Config{SemanticOnly: !rules, Mutant: mut}, serial(), func(e *ksync.Env) []func(*sched.Task) {
			x = e.NewMutex("x", ksync.ClassTestP)
			y := e.NewMutex("y", ksync.ClassTestA) // sleeping: no atomic-context report from the phantom
			return []func(*sched.Task){
				func(t *sched.Task) {
					x.Lock(t, "s1")
					check(t, x.Owner() == -1, "removed lock is owned by %d", x.Owner())
					y.Lock(t, "s2")
					y.Unlock(t, "s2")
					x.AssertHeld(t, "under x")
					x.Unlock(t, "s1")
				},
			}
		})
		if !rules {
			mustOK(t, res)
			for _, ev := range res.Trace.Events {
				if ev.ObjText() == "x" && ev.Kind != sched.KindNote {
					t.Errorf("removed lock left a scheduling point: %v", ev)
				}
			}
			if mut.Reached() != 1 || mut.Applied() != 1 {
				t.Errorf("reached %d applied %d, want 1 1", mut.Reached(), mut.Applied())
			}
			continue
		}
		if v := res.Verdict.Violation; v.Invariant != "lock-rule" || !strings.Contains(v.Detail, "under x") {
			t.Errorf("rules on: %v, want the lock-rule of the assertion under x", res.Verdict)
		}
	}
}

// TestMutantRemoveTrylockAndRwsem: a removed trylock succeeds holding
// nothing; a removed down_write lets another writer in.
func TestMutantRemoveTrylockAndRwsem(t *testing.T) {
	mut := siteMutant(ksync.MutantRemove, ksync.ClassTestA.Name, "sem")
	res := run(ksync.Config{SemanticOnly: true, Mutant: mut}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		rw := e.NewRwsem("sem", ksync.ClassTestA)
		return []func(*sched.Task){
			func(t *sched.Task) {
				rw.DownWrite(t, "w")
				check(t, !rw.IsLocked(), "removed down_write locked the rwsem")
				check(t, rw.DownReadTrylock(t, "r"), "removed trylock failed")
				rw.UpRead(t, "r")
				rw.UpWrite(t, "w")
			},
		}
	})
	mustOK(t, res)
	if mut.Applied() != 2 {
		t.Errorf("applied %d, want 2", mut.Applied())
	}
}

// TestMutantIgnoreTrylockFailure: a failed trylock proceeds as if it had
// succeeded; its release, as the kernel's folio_unlock or spin_unlock
// would, clears the lock its real holder took: the holder no longer
// owns it (others may take it), and its own unlock later is harmless.
func TestMutantIgnoreTrylockFailure(t *testing.T) {
	mut := siteMutant(ksync.MutantIgnoreTrylockFailure, ksync.ClassTestF.Name, "folio")
	res := run(ksync.Config{SemanticOnly: true, Mutant: mut}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		f := e.NewMutex("folio", ksync.ClassTestF)
		return []func(*sched.Task){
			func(t *sched.Task) {
				check(t, f.Trylock(t, "first"), "first trylock failed") // succeeds: nothing to ignore
				t.Park(&parkSpot{})
				check(t, f.Owner() == -1, "the ignored trylock's unlock left the holder's lock held")
				f.Unlock(t, "first")
			},
			func(t *sched.Task) {
				check(t, f.Trylock(t, "second"), "the failed trylock was not ignored")
				f.Unlock(t, "second")
				t.Unpark(t.Sched().Task(0))
			},
		}
	})
	mustOK(t, res)
	if mut.Reached() != 2 || mut.Applied() != 1 {
		t.Errorf("reached %d applied %d, want 2 1", mut.Reached(), mut.Applied())
	}
}

// TestMutantReleaseEarly: the lock is released at the start of the second
// scheduling point after the acquisition (the end of the first step it
// protects); the later unlock is a no-op; when the unlock itself is that
// point, the mutation changes nothing and does not count.
func TestMutantReleaseEarly(t *testing.T) {
	mut := siteMutant(ksync.MutantReleaseEarly, ksync.ClassTestA.Name, "m")
	var owners []int
	res := run(ksync.Config{SemanticOnly: true, Mutant: mut}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		m := e.NewMutex("m", ksync.ClassTestA)
		return []func(*sched.Task){
			func(t *sched.Task) {
				m.Lock(t, "a")
				owners = append(owners, m.Owner())
				t.Point(sched.KindWrite, "x", "step1", "")
				owners = append(owners, m.Owner())
				t.Point(sched.KindWrite, "x", "step2", "")
				owners = append(owners, m.Owner())
				m.Unlock(t, "a")
				m.Lock(t, "b")                             // one step under the lock, then its unlock:
				t.Point(sched.KindWrite, "x", "step3", "") // the early release is the real one
				m.Unlock(t, "b")
				owners = append(owners, m.Owner())
			},
		}
	})
	mustOK(t, res)
	if fmt.Sprint(owners) != "[0 0 -1 -1]" {
		t.Errorf("owners %v, want [0 0 -1 -1]", owners)
	}
	if mut.Reached() != 2 || mut.Applied() != 1 {
		t.Errorf("reached %d applied %d, want 2 1", mut.Reached(), mut.Applied())
	}
}

// TestMutantReleaseEarlyMmapLock: mmap_lock released early for write ends
// the write epoch (VMA write locks end with it); the later
// mmap_write_unlock is a no-op. A removed mmap_write_lock's unlock does not
// end an epoch either.
func TestMutantReleaseEarlyMmapLock(t *testing.T) {
	for _, kind := range []ksync.MutantKind{ksync.MutantReleaseEarly, ksync.MutantRemove} {
		mut := siteMutant(kind, ksync.ClassMmapLock.Name, "mmap_lock(mm1)")
		var seqs []int64
		res := run(ksync.Config{SemanticOnly: true, Mutant: mut}, serial(), func(e *ksync.Env) []func(*sched.Task) {
			mm := e.NewMmapLock("mm1")
			return []func(*sched.Task){
				func(t *sched.Task) {
					mm.WriteLock(t, "mmap")
					t.Point(sched.KindWrite, "x", "step1", "")
					t.Point(sched.KindWrite, "x", "step2", "")
					seqs = append(seqs, mm.Seq())
					mm.WriteUnlock(t, "mmap")
					seqs = append(seqs, mm.Seq())
				},
			}
		})
		mustOK(t, res)
		want := "[1 1]"
		if kind == ksync.MutantRemove {
			want = "[0 0]"
		}
		if fmt.Sprint(seqs) != want {
			t.Errorf("%s: mm_lock_seq %v, want %s", kind, seqs, want)
		}
	}
}

// TestMutantVMALock: a removed vma_start_read succeeds on a write-locked
// VMA; a removed vma_start_write leaves the VMA readable.
func TestMutantVMALock(t *testing.T) {
	for _, kind := range []ksync.MutantKind{ksync.MutantRemove, ksync.MutantIgnoreTrylockFailure} {
		mut := siteMutant(kind, ksync.ClassVMALock.Name, "vma#1")
		res := run(ksync.Config{SemanticOnly: true, Mutant: mut}, serial(), func(e *ksync.Env) []func(*sched.Task) {
			mm := e.NewMmapLock("mm1")
			v := e.NewVMALock("vma#1", mm)
			v.Attach()
			return []func(*sched.Task){func(t *sched.Task) {
				mm.WriteLock(t, "mprotect")
				v.StartWrite(t, "mprotect")
				check(t, v.IsWriteLocked() == (kind != ksync.MutantRemove), "%s: write-locked %v", kind, v.IsWriteLocked())
				check(t, v.StartRead(t, mm, true, "fault") == ksync.ReadOK, "%s: vma_start_read failed", kind)
				v.EndRead(t, "fault")
				mm.WriteUnlock(t, "mprotect")
			}}
		})
		mustOK(t, res)
	}
}

// TestMutantRCU: a removed rcu_read_lock lets a grace period end (a
// callback run) inside the section; a section ended early ends at the end
// of its first step; a removed inner rcu_read_lock changes nothing.
func TestMutantRCU(t *testing.T) {
	for _, tc := range []struct {
		kind  ksync.MutantKind
		inner bool
		want  string
	}{
		{ksync.MutantRemove, false, "[freed freed]"},
		{ksync.MutantReleaseEarly, false, "[live freed]"},
		{ksync.MutantRemove, true, "[live live]"},
	} {
		mut := &ksync.Mutant{Kind: tc.kind, Class: ksync.RCUClass, Match: func(a ksync.Acquisition, pcs []uintptr) bool { return true }}
		var seen []string
		res := run(ksync.Config{SemanticOnly: true, Mutant: mut}, serial(), func(e *ksync.Env) []func(*sched.Task) {
			rcu := e.RCU()
			freed := false
			state := func() string {
				if freed {
					return "freed"
				}
				return "live"
			}
			return []func(*sched.Task){
				func(t *sched.Task) {
					if tc.inner {
						mut.Match = func(ksync.Acquisition, []uintptr) bool { return rcu.InReadSection(t) }
					}
					rcu.ReadLock(t, "reader")
					if tc.inner {
						rcu.ReadLock(t, "inner")
					}
					t.Park(&parkSpot{})                          // t2 frees under call_rcu
					t.Point(sched.KindRead, "obj", "reader", "") // the step the section protects
					seen = append(seen, state())
					t.Point(sched.KindRead, "obj", "reader", "")
					seen = append(seen, state())
					if tc.inner {
						rcu.ReadUnlock(t, "inner")
					}
					rcu.ReadUnlock(t, "reader")
				},
				func(t *sched.Task) {
					rcu.CallRCU(t, "free obj", func() { freed = true })
					t.Unpark(t.Sched().Task(0))
				},
			}
		})
		mustOK(t, res)
		if fmt.Sprint(seen) != tc.want {
			t.Errorf("%s inner=%v: the object was %v, want %s", tc.kind, tc.inner, seen, tc.want)
		}
	}
}

// TestMutantClassFilter: the matcher is consulted only for acquisitions of
// the mutant's class.
func TestMutantClassFilter(t *testing.T) {
	calls := 0
	mut := &ksync.Mutant{Kind: ksync.MutantRemove, Class: ksync.ClassTestB.Name, Match: func(ksync.Acquisition, []uintptr) bool { calls++; return false }}
	mustOK(t, run(ksync.Config{Mutant: mut}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		a, b := e.NewMutex("a", ksync.ClassTestA), e.NewMutex("b", ksync.ClassTestB)
		return []func(*sched.Task){func(t *sched.Task) {
			a.Lock(t, "a")
			b.Lock(t, "b")
			b.Unlock(t, "b")
			a.Unlock(t, "a")
		}}
	}))
	if calls != 1 {
		t.Errorf("matcher called %d times, want 1 (class b only)", calls)
	}
}

func TestParseMutantKind(t *testing.T) {
	for _, k := range ksync.MutantKinds {
		if got, err := ksync.ParseMutantKind(k.String()); err != nil || got != k {
			t.Errorf("%s: %v %v", k, got, err)
		}
	}
	if _, err := ksync.ParseMutantKind("delete"); err == nil {
		t.Error("unknown kind accepted")
	}
}
