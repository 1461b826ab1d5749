package ksync_test

import (
	"strings"
	"testing"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// run runs fns as tasks under strat and returns the result.
func run(cfg ksync.Config, strat sched.Strategy, build func(e *ksync.Env) []func(*sched.Task)) sched.Result {
	s := sched.New(sched.Options{Strategy: strat})
	e := ksync.NewEnv(cfg)
	for _, fn := range build(e) {
		s.Spawn(fn)
	}
	return s.Run()
}

// serial runs t1 until it blocks or ends, then t2, ... (no preemption).
func serial() sched.Strategy { return sched.NewBytes(nil) }

func TestRwsemWriterPreference(t *testing.T) {
	var log []string
	res := run(ksync.Config{}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		rw := e.NewRwsem("sem", ksync.ClassTestA)
		return []func(*sched.Task){
			func(t *sched.Task) { // reader holding the lock while t2 and t3 queue
				rw.DownRead(t, "r1")
				t.Park(&parkSpot{})
				log = append(log, "t1 read")
				rw.UpRead(t, "r1")
			},
			func(t *sched.Task) { // writer queues behind the reader
				rw.DownWrite(t, "w")
				log = append(log, "t2 write")
				rw.UpWrite(t, "w")
			},
			func(t *sched.Task) { // a later reader must not overtake the writer
				if rw.DownReadTrylock(t, "r2try") {
					log = append(log, "t3 trylock succeeded despite waiting writer")
					rw.UpRead(t, "r2try")
				}
				t.Unpark(t.Sched().Task(0))
				rw.DownRead(t, "r2")
				log = append(log, "t3 read")
				rw.UpRead(t, "r2")
			},
		}
	})
	if res.Verdict.Outcome != sched.OK {
		t.Fatalf("%v\n%s", res.Verdict, res.Trace.String())
	}
	if got := strings.Join(log, ", "); got != "t1 read, t2 write, t3 read" {
		t.Fatalf("order %q, want the writer before the later reader", got)
	}
}

func TestRwsemDowngrade(t *testing.T) {
	res := run(ksync.Config{}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		rw := e.NewRwsem("sem", ksync.ClassTestA)
		return []func(*sched.Task){
			func(t *sched.Task) {
				rw.DownWrite(t, "w")
				t.Park(&parkSpot{})
				rw.DowngradeWrite(t, "d") // grants t2's queued read
				t.Park(&parkSpot{})
				rw.UpRead(t, "u")
			},
			func(t *sched.Task) {
				if rw.DownWriteTrylock(t, "t") {
					t.Fail(sched.Violation{Invariant: "test", Detail: "write trylock succeeded on a held rwsem"})
				}
				t.Unpark(t.Sched().Task(0))
				rw.DownRead(t, "r")
				if h := rw.Holders(nil); len(h) != 2 {
					t.Fail(sched.Violation{Invariant: "test", Detail: "after downgrade both tasks should hold the rwsem for read"})
				}
				t.Unpark(t.Sched().Task(0))
				rw.UpRead(t, "r")
			},
		}
	})
	if res.Verdict.Outcome != sched.OK {
		t.Fatalf("%v\n%s", res.Verdict, res.Trace.String())
	}
}

func TestVMALockEpochs(t *testing.T) {
	res := run(ksync.Config{}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		mm := e.NewMmapLock("mm1")
		v := e.NewVMALock("vma#1", mm)
		expect := func(t *sched.Task, got, want ksync.ReadResult, when string) {
			if got != want {
				t.Fail(sched.Violation{Invariant: "test", Detail: when + ": vma_start_read " + got.String() + ", want " + want.String()})
			}
		}
		return []func(*sched.Task){func(t *sched.Task) {
			expect(t, v.StartRead(t, mm, true, "lock_vma_under_rcu"), ksync.ReadDetached, "detached")
			mm.WriteLock(t, "mmap_region")
			v.StartWrite(t, "mmap_region")
			v.MarkAttached(t, "vma_iter_store")
			expect(t, v.StartRead(t, mm, true, "lock_vma_under_rcu"), ksync.ReadWriteLocked, "write-locked in this epoch")
			mm.WriteUnlock(t, "mmap_region")
			expect(t, v.StartRead(t, mm, true, "lock_vma_under_rcu"), ksync.ReadOK, "after the epoch ended")
			v.EndRead(t, "do_anonymous_page")
			mm.WriteLock(t, "munmap")
			v.StartWrite(t, "vms_gather_munmap_vmas")
			v.StartWrite(t, "again") // already locked in this epoch: no-op
			v.MarkDetached(t, "vms_complete_munmap_vmas")
			mm.WriteDowngrade(t, "munmap")
			expect(t, v.StartRead(t, mm, true, "lock_vma_under_rcu"), ksync.ReadDetached, "detached after downgrade")
			mm.ReadUnlock(t, "munmap")
		}}
	})
	if res.Verdict.Outcome != sched.OK {
		t.Fatalf("%v\n%s", res.Verdict, res.Trace.String())
	}
}

func TestVMAWriterWaitsForReaders(t *testing.T) {
	var order []string
	res := run(ksync.Config{}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		mm := e.NewMmapLock("mm1")
		v := e.NewVMALock("vma#1", mm)
		v.Attach()
		return []func(*sched.Task){
			func(t *sched.Task) {
				if v.StartRead(t, mm, true, "fault") != ksync.ReadOK {
					t.Fail(sched.Violation{Invariant: "test", Detail: "read failed"})
				}
				t.Park(&parkSpot{}) // let t2 run (t2 unparks us after queueing)
				order = append(order, "t1 reader done")
				v.EndRead(t, "fault")
			},
			func(t *sched.Task) {
				mm.WriteLock(t, "mprotect")
				t.Unpark(t.Sched().Task(0))
				v.StartWrite(t, "mprotect")
				order = append(order, "t2 write-locked")
				mm.WriteUnlock(t, "mprotect")
			},
		}
	})
	if res.Verdict.Outcome != sched.OK || strings.Join(order, ", ") != "t1 reader done, t2 write-locked" {
		t.Fatalf("%v %v\n%s", res.Verdict, order, res.Trace.String())
	}
}

type parkSpot struct{}

func (*parkSpot) Name() string            { return "spot" }
func (*parkSpot) Holders(buf []int) []int { return buf }

func TestRCUGracePeriod(t *testing.T) {
	freed := false
	res := run(ksync.Config{}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		r := e.RCU()
		return []func(*sched.Task){
			func(t *sched.Task) {
				r.ReadLock(t, "reader")
				t.Park(&parkSpot{})
				if freed {
					t.Fail(sched.Violation{Invariant: "use-after-free", Detail: "freed inside a read section that began before call_rcu"})
				}
				r.ReadUnlock(t, "reader") // ends the grace period: the callback runs here
				if !freed {
					t.Fail(sched.Violation{Invariant: "test", Detail: "callback did not run after the grace period"})
				}
			},
			func(t *sched.Task) {
				r.CallRCU(t, "free object", func() { freed = true })
				r.ReadLock(t, "later reader") // a section that began after call_rcu does not delay it
				t.Unpark(t.Sched().Task(0))
				t.Point(sched.KindNote, "", "", "")
				r.ReadUnlock(t, "later reader")
			},
		}
	})
	if res.Verdict.Outcome != sched.OK {
		t.Fatalf("%v\n%s", res.Verdict, res.Trace.String())
	}
}

func TestSynchronizeRCUInReadSectionDeadlocks(t *testing.T) {
	res := run(ksync.Config{SemanticOnly: true}, serial(), func(e *ksync.Env) []func(*sched.Task) {
		r := e.RCU()
		return []func(*sched.Task){func(t *sched.Task) {
			r.ReadLock(t, "x")
			r.Synchronize(t, "x")
		}}
	})
	if res.Verdict.Outcome != sched.Deadlock || !strings.Contains(res.Verdict.Violation.Detail, "t1 → rcu grace period → t1") {
		t.Fatalf("got %v", res.Verdict)
	}
}

// TestStaticOrder checks the order of mm/rmap.c on kernel classes: each
// -ok sequence passes, each -bad one is reported as it happens.
func TestStaticOrder(t *testing.T) {
	type lk struct {
		name string
		take func(t *sched.Task)
		drop func(t *sched.Task)
	}
	build := func(e *ksync.Env) map[string]lk {
		mm := e.NewMmapLock("mm1")
		child := e.NewMmapLock("mm2")
		vma := e.NewVMALock("vma#1", mm)
		vma.Attach()
		imm := e.NewRwsem("i_mmap_rwsem(file1)", ksync.ClassIMmapRwsem)
		av := e.NewRwsem("anon_vma(av1)", ksync.ClassAnonVMA)
		ptl1 := e.NewMutex("ptl(pt1)", ksync.ClassPTL)
		ptl2 := e.NewMutex("ptl(pt2)", ksync.ClassPTL)
		folio := e.NewMutex("folio(f1)", ksync.ClassFolioLock)
		inval := e.NewRwsem("invalidate_lock(file1)", ksync.ClassInvalidateLock)
		return map[string]lk{
			"inval":               {"inval", func(t *sched.Task) { inval.DownWrite(t, "x") }, func(t *sched.Task) { inval.UpWrite(t, "x") }},
			"inval-beneath-folio": {"inval-beneath-folio", func(t *sched.Task) { inval.DownWriteBeneath(t, folio, "x") }, func(t *sched.Task) { inval.UpWrite(t, "x") }},
			"inval-beneath-ptl":   {"inval-beneath-ptl", func(t *sched.Task) { inval.DownWriteBeneath(t, ptl1, "x") }, func(t *sched.Task) { inval.UpWrite(t, "x") }},
			"mmap":                {"mmap", func(t *sched.Task) { mm.WriteLock(t, "x") }, func(t *sched.Task) { mm.WriteUnlock(t, "x") }},
			"mmap-read":           {"mmap-read", func(t *sched.Task) { mm.ReadLock(t, "x") }, func(t *sched.Task) { mm.ReadUnlock(t, "x") }},
			"child":               {"child", func(t *sched.Task) { child.WriteLockNested(t, ksync.SingleDepthNesting, "dup_mmap") }, func(t *sched.Task) { child.WriteUnlock(t, "x") }},
			"child-bad":           {"child-bad", func(t *sched.Task) { child.WriteLock(t, "dup_mmap") }, func(t *sched.Task) { child.WriteUnlock(t, "x") }},
			"vma-write":           {"vma-write", func(t *sched.Task) { vma.StartWrite(t, "x") }, func(t *sched.Task) {}},
			"vma-read":            {"vma-read", func(t *sched.Task) { vma.StartRead(t, mm, true, "x") }, func(t *sched.Task) { vma.EndRead(t, "x") }},
			"i_mmap":              {"i_mmap", func(t *sched.Task) { imm.DownWrite(t, "x") }, func(t *sched.Task) { imm.UpWrite(t, "x") }},
			"anon_vma":            {"anon_vma", func(t *sched.Task) { av.DownWrite(t, "x") }, func(t *sched.Task) { av.UpWrite(t, "x") }},
			"ptl-old":             {"ptl-old", func(t *sched.Task) { ptl1.Lock(t, "move_ptes") }, func(t *sched.Task) { ptl1.Unlock(t, "x") }},
			"ptl-new":             {"ptl-new", func(t *sched.Task) { ptl2.LockNested(t, ksync.SingleDepthNesting, "move_ptes") }, func(t *sched.Task) { ptl2.Unlock(t, "x") }},
			"ptl-new-bad":         {"ptl-new-bad", func(t *sched.Task) { ptl2.Lock(t, "move_ptes") }, func(t *sched.Task) { ptl2.Unlock(t, "x") }},
			"folio":               {"folio", func(t *sched.Task) { folio.Lock(t, "x") }, func(t *sched.Task) { folio.Unlock(t, "x") }},
		}
	}
	for _, tc := range []struct {
		name string
		seq  []string
		want string // "" for -ok cases
	}{
		{"take_rmap_locks-ok", []string{"mmap", "vma-write", "i_mmap", "anon_vma", "ptl-old", "ptl-new"}, ""},
		{"dup_mmap-ok", []string{"mmap", "child", "anon_vma", "ptl-old", "ptl-new"}, ""},
		{"fault-ok", []string{"vma-read", "folio", "anon_vma", "ptl-old"}, ""},
		{"anon-before-i_mmap-bad", []string{"mmap", "anon_vma", "i_mmap"}, "lock-order"},
		{"vma-write-after-i_mmap-bad", []string{"mmap", "i_mmap", "vma-write"}, "lock-order"},
		{"mmap-under-vma-read-bad", []string{"vma-read", "mmap-read"}, "lock-order"},
		{"folio-under-ptl-bad", []string{"mmap", "ptl-old", "folio"}, "lock-rule"},
		{"ptl-nesting-unannotated-bad", []string{"ptl-old", "ptl-new-bad"}, "lock-order"},
		{"child-mmap-unannotated-bad", []string{"mmap", "child-bad"}, "lock-order"},
		// DownWriteBeneath exempts the one held lock it names, no other.
		{"rank3-under-folio-bad", []string{"folio", "inval"}, "lock-order"},
		{"rank3-beneath-folio-ok", []string{"folio", "inval-beneath-folio"}, ""},
		{"rank3-beneath-other-bad", []string{"folio", "inval-beneath-ptl"}, "lock-order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cfg := range []ksync.Config{{}, {SemanticOnly: true}} {
				res := run(cfg, serial(), func(e *ksync.Env) []func(*sched.Task) {
					locks := build(e)
					return []func(*sched.Task){func(t *sched.Task) {
						for _, n := range tc.seq {
							locks[n].take(t)
						}
						for i := len(tc.seq) - 1; i >= 0; i-- {
							locks[tc.seq[i]].drop(t)
						}
					}}
				})
				want := tc.want
				if cfg.SemanticOnly {
					want = "" // semantic-only: one task cannot deadlock itself here
				}
				got := ""
				if res.Verdict.Outcome != sched.OK {
					got = res.Verdict.Violation.Invariant
				}
				if got != want {
					t.Fatalf("semantic-only=%v: got %q (%v), want %q", cfg.SemanticOnly, got, res.Verdict, want)
				}
				if got != "" {
					t.Logf("%v", res.Verdict.Violation.Detail)
				}
			}
		})
	}
}

func TestAssertions(t *testing.T) {
	for _, tc := range []struct {
		name string
		body func(t *sched.Task, mm *ksync.MmapLock, v *ksync.VMALock)
		want string
	}{
		{"mmap_assert_write_locked-ok", func(t *sched.Task, mm *ksync.MmapLock, v *ksync.VMALock) {
			mm.WriteLock(t, "x")
			mm.AssertWriteLocked(t, "mmap_assert_write_locked")
			mm.WriteUnlock(t, "x")
		}, ""},
		{"mmap_assert_write_locked-bad", func(t *sched.Task, mm *ksync.MmapLock, v *ksync.VMALock) {
			mm.ReadLock(t, "x")
			mm.AssertWriteLocked(t, "mmap_assert_write_locked")
		}, "lock-rule"},
		{"vma_assert_locked-bad", func(t *sched.Task, mm *ksync.MmapLock, v *ksync.VMALock) {
			v.AssertLocked(t, "vma_assert_locked")
		}, "lock-rule"},
		{"vma_start_write-without-mmap-bad", func(t *sched.Task, mm *ksync.MmapLock, v *ksync.VMALock) {
			v.StartWrite(t, "x")
		}, "lock-rule"},
		{"vma_assert_locked-ok", func(t *sched.Task, mm *ksync.MmapLock, v *ksync.VMALock) {
			v.StartRead(t, mm, true, "x")
			v.AssertLocked(t, "vma_assert_locked")
			v.EndRead(t, "x")
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(ksync.Config{}, serial(), func(e *ksync.Env) []func(*sched.Task) {
				mm := e.NewMmapLock("mm1")
				v := e.NewVMALock("vma#1", mm)
				v.Attach()
				return []func(*sched.Task){func(t *sched.Task) { tc.body(t, mm, v) }}
			})
			got := ""
			if res.Verdict.Outcome != sched.OK {
				got = res.Verdict.Violation.Invariant
			}
			if got != tc.want {
				t.Fatalf("got %q (%v), want %q", got, res.Verdict, tc.want)
			}
		})
	}
}
