package kernelsim_test

import (
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// TestStaleAccessInsideTheFlushWindow: a store through a translation
// cached before MADV_DONTNEED's zap, or before move_ptes moved the PTE,
// and made between the PTE change and the flush, is part of the race with
// the operation: the faithful kernel passes (the memory log puts the
// access where the race does, tlbrace.go). Such schedules were found by
// mmrace run as memory-contents failures of the faithful kernel before
// that. The test searches PCT schedules until one puts the store inside
// the window (so that the model's step counts may change), and requires
// every schedule tried to pass.
func TestStaleAccessInsideTheFlushWindow(t *testing.T) {
	for _, tc := range []struct {
		name, prog    string
		change, flush string // the PTE change and the flush that bound the window
	}{
		{"madvise", `mm mm1
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 1
t1: madvise mm1 0x10+4 dontneed
t2: store mm1 0x10 2
t2: store mm1 0x10 3
t2: store mm1 0x10 4
t2: load mm1 0x10
t2: load mm1 0x10
`, "pte mm1 0x10 @zap_page_range_single", "mm1 tlb @tlb_finish_mmu"},
		{"mremap", `mm mm1
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 1
t1: mremap mm1 0x10+4 -> 0x30
t2: store mm1 0x10 2
t2: store mm1 0x10 3
t2: store mm1 0x10 4
t2: load mm1 0x30
t2: load mm1 0x30
`, "pte mm1 0x10 @move_ptes", "mm1 tlb @move_ptes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := kernelsim.Parse(tc.name, tc.prog)
			if err != nil {
				t.Fatal(err)
			}
			for seed := range uint64(5000) {
				rep := harness.Run(p, harness.Options{SemanticOnly: true, MaxSteps: 10000, Strategy: sched.NewPCT(seed, 3, 150)})
				if rep.Verdict.Outcome != sched.OK {
					t.Fatalf("the faithful kernel fails under PCT seed %d:\n%s", seed, rep.Summary())
				}
				state := 0 // 1: after the change, 2: a stale store inside the window
				for _, e := range rep.RunTrace.Events {
					s := e.String()
					switch {
					case state == 0 && strings.Contains(s, tc.change):
						state = 1
					case state == 1 && strings.Contains(s, "via f1 (tlb)") && strings.Contains(s, "store 0x10"):
						state = 2
					case state == 1 && strings.Contains(s, tc.flush):
						state = 3
					}
				}
				if state == 2 {
					t.Logf("a stale store inside the window at PCT seed %d", seed)
					return
				}
			}
			t.Fatalf("no schedule in 5000 stores through the stale translation between %q and %q", tc.change, tc.flush)
		})
	}
}

// TestZapAnswersForWhatItZapped: a MADV_DONTNEED that finds no VMA over
// its range (a concurrent munmap has detached it and still owes the
// flush) promises nothing about the range's translations; the faithful
// kernel passes. The schedule was found by mmrace locks as a "kill" that
// reproduced without the mutant (madvise now answers only for the VMAs
// it zapped); the test checks that the madvise still ends, with ENOMEM,
// before the munmap's flush.
func TestZapAnswersForWhatItZapped(t *testing.T) {
	p, err := kernelsim.Parse("zap", `mm mm1
file file1 16
setup: mmap mm1 0x8+16 anon rw
setup: store mm1 0x10 2
t1: munmap mm1 0x8+8
t2: store mm1 0x8 14
t2: madvise mm1 0x8+1 dontneed
`)
	if err != nil {
		t.Fatal(err)
	}
	p.Schedule = "v1.wgSgBYIBLXCpbQ"
	rep := harness.Run(p, harness.Options{SemanticOnly: true, MaxSteps: 10000})
	if rep.Verdict.Outcome != sched.OK {
		t.Fatalf("the faithful kernel fails:\n%s", rep.Summary())
	}
	madviseDone, flushed := -1, -1
	for i, e := range rep.RunTrace.Events {
		s := e.String()
		if strings.Contains(s, "t2") && strings.Contains(s, "ENOMEM") && madviseDone < 0 {
			madviseDone = i
		}
		if strings.Contains(s, "mm1 tlb @tlb_finish_mmu") && strings.Contains(s, "t1") && flushed < 0 {
			flushed = i
		}
	}
	if madviseDone < 0 || flushed < 0 || madviseDone > flushed {
		t.Fatalf("the schedule no longer ends the madvise (event %d) before the munmap's flush (event %d):\n%s", madviseDone, flushed, rep.RunTrace.String())
	}
}

// TestStaleLoadPlacedBeforeTheZapThatMadeItStale: t3 caches 0x10; t1's
// MADV_DONTNEED zaps it (its flush deferred to tlb_finish_mmu); t2 faults
// the zero page in, reads 0 and zaps it again; then t3 reads 1 through its
// stale translation. The read belongs before t1's zap, which made its
// translation stale, not before t2's later zap, which would put it after
// t2's read of 0: go test -fuzz found that memory-contents false positive
// of the faithful kernel (the pinned schedule below), and the PCT runs
// must pass too.
func TestStaleLoadPlacedBeforeTheZapThatMadeItStale(t *testing.T) {
	const prog = `mm mm1
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 1
setup: store mm1 0x11 2
t1: madvise mm1 0x10+4 dontneed
t1: load mm1 0x10
t1: load mm1 0x10
t2: load mm1 0x10
t2: madvise mm1 0x10+4 dontneed
t3: load mm1 0x11
t3: load mm1 0x10
t3: load mm1 0x10
`
	p, err := kernelsim.Parse("t", prog)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sched.ParseSchedule("v1.pAHAAsIGRMADYmdTwAI")
	if err != nil {
		t.Fatal(err)
	}
	rep := harness.Run(p, harness.Options{Strategy: sched.NewReplay(s), SemanticOnly: true})
	if !rep.OK() {
		t.Fatalf("pinned schedule: %s", rep.Summary())
	}
	if tr := rep.RunTrace.String(); !strings.Contains(tr, "load 0x10 -> 1 via f1 (tlb)") || !strings.Contains(tr, "load 0x10 -> 0 via zero-page") {
		t.Fatalf("the schedule no longer has a stale read of 1 after a read of 0:\n%s", tr)
	}
	for i := range uint64(3000) {
		pct := sched.NewPCT(i, 2+int(i%4), 120)
		pct.Windows = i%2 == 0
		if rep := harness.Run(p, harness.Options{Strategy: pct, SemanticOnly: true}); !rep.OK() {
			t.Fatalf("PCT seed %d: %s", i, rep.Summary())
		}
	}
}

// TestWalkThroughADetachedTable: t3's store walks 0x13: it reads the PMD
// (pt#1), then collapse_huge_page detaches the table (pmdp_collapse_flush
// clears the PMD) before t3 reads the PTE and before the flush reaches
// t3's CPU, so the store lands in the detached table's page, which the
// collapse then copies. The store belongs before the clear, as one
// through a cached PMD entry does; logged where it happened, after the
// clear, t3's next load (through the TLB, placed before the clear) came
// before it in the memory log and read a value not yet stored: mmrace
// locks found that memory-contents failure of the faithful kernel once
// PCT preempted lockless page-table reads (sched.WindowWalk).
func TestWalkThroughADetachedTable(t *testing.T) {
	p, err := kernelsim.Parse("detached", `mm mm1
file file1 32
inject alloc-failures
setup: mmap mm1 0x10+8 anon rw thp
setup: mprotect mm1 0x10+1 r
setup: store mm1 0x11 2
setup: store mm1 0x12 3
setup: mprotect mm1 0x10+1 rw
t1: collapse mm1 0x10
t1: madvise mm1 0x10+4 dontneed
t2: store mm1 0x13 5
t3: store mm1 0x13 5
t3: load mm1 0x13
`)
	if err != nil {
		t.Fatal(err)
	}
	p.Schedule = "v1.4gIkgASCAYAB4gFkogGzGXJT"
	rep := harness.Run(p, harness.Options{SemanticOnly: true, MaxSteps: 10000})
	if !rep.OK() {
		t.Fatalf("the faithful kernel fails:\n%s", rep.Summary())
	}
	if !strings.Contains(rep.RunTrace.String(), "pmd mm1 0x10 @pmdp_collapse_flush: pt#1 -> none") {
		t.Fatalf("the schedule no longer detaches pt#1:\n%s", rep.RunTrace.String())
	}
	p.Schedule = ""
	for seed := range uint64(2000) {
		pct := sched.NewPCT(seed, 3, 150)
		pct.Windows = seed%2 == 0
		if rep := harness.Run(p, harness.Options{SemanticOnly: true, MaxSteps: 10000, Strategy: pct}); !rep.OK() {
			t.Fatalf("the faithful kernel fails under PCT seed %d:\n%s", seed, rep.Summary())
		}
	}
}
