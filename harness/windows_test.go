package harness

import (
	"testing"

	"mmrace/internal/scenario"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// TestPCTWindowsFindD12c: PCT that preempts at TLB windows (sched.PCT.Windows:
// after a fill, a reduction another task's TLB still holds, a copy of a page
// another task can still store to, a lockless page-table read) finds
// D.12c's lost store in about one run of its program in 1,000 (10 in
// 10,000; one in 250 before the lockless reads were windows too); plain
// PCT of the same depths and seeds finds it in none of 1,500 (its first
// hit comes after about 12,000). And the faithful
// kernel passes every schedule either draws.
func TestPCTWindowsFindD12c(t *testing.T) {
	// D.12c's corpus program: t2's second store must go through the
	// writable translation its first one cached, after t3's COW fault
	// (which the variant lets run during the fork) copied the page and
	// before t3 replaces the PTE.
	p, err := scenario.ReadProgram("../corpus/dup_mmap_copies_a_parent_vma_that_is_not_write_locked.txt")
	if err != nil {
		t.Fatal(err)
	}
	const runs = 1500
	hits := func(variants kernelsim.Variants, windows bool) int {
		return windowHits(t, p, variants, windows, runs, 80, "memory-contents")
	}
	v := kernelsim.Variants{"dup_mmap-no-parent-vma-write-lock": true}
	with, without := hits(v, true), hits(v, false)
	t.Logf("D.12c in %d runs: %d with windows, %d without", runs, with, without)
	if with < 2 || without != 0 {
		t.Errorf("D.12c in %d runs: %d with windows (want at least 2), %d without (want 0)", runs, with, without)
	}
	hits(nil, true)
}

// TestPCTWalkWindows: a task that read a page-table pointer locklessly and
// has yet to lock it (sched.WindowWalk: pte_offset_map, hugetlb_walk) is
// lowered by PCT with windows one time in four, so that another task runs
// in the window. Peter Xu's case B made false (variant
// hugetlb_walk-without-lock: uprobes' page_vma_mapped_walk meets a
// hugetlb VMA holding neither the hugetlb VMA lock nor i_mmap_rwsem, and
// a migration unshares the PMD table between its hugetlb_walk and its
// huge_pte_lock) is found more often with windows than without, over the
// same seeds of short runs of its corpus program; the faithful kernel
// passes every schedule.
func TestPCTWalkWindows(t *testing.T) {
	p, err := scenario.ReadProgram("../corpus/page_vma_mapped_walk_reaching_hugetlb_outside_rmap_loses_its_pmd_table.txt")
	if err != nil {
		t.Fatal(err)
	}
	p.Schedule = ""
	const runs = 2000
	hits := func(variants kernelsim.Variants, windows bool) int {
		return windowHits(t, p, variants, windows, runs, 400, "page-table-lifetime")
	}
	v := kernelsim.Variants{"hugetlb_walk-without-lock": true}
	with, without := hits(v, true), hits(v, false)
	t.Logf("hugetlb_walk-without-lock in %d runs: %d with windows, %d without", runs, with, without)
	if with < 2*without || with < 10 {
		t.Errorf("hugetlb_walk-without-lock in %d runs: %d with windows, %d without (want at least twice as many, and 10)", runs, with, without)
	}
	hits(nil, true)
}

// windowHits runs p under variants runs times, under PCT of depth 2 or 3
// for runs of k steps, with or without windows (the same seeds either
// way), and returns how many runs failed. A failure must be want's; the
// faithful kernel (variants nil) and the harness must not fail at all.
func windowHits(t *testing.T, p *kernelsim.Program, variants kernelsim.Variants, windows bool, runs uint64, k int, want string) int {
	t.Helper()
	q := *p
	q.Variants = variants
	n := 0
	for i := range runs {
		pct := sched.NewPCT(i*7919+1, 2+int(i%2), k)
		pct.Windows = windows
		rep := Run(&q, Options{Strategy: pct, SemanticOnly: true, MaxSteps: 20000})
		if rep.InternalError() {
			t.Fatalf("internal error: %s", rep.Summary())
		}
		if rep.Finding() {
			if variants == nil {
				t.Fatalf("faithful kernel failed: %s", rep.Summary())
			}
			if inv := rep.Verdict.Violation.Invariant; inv != want {
				t.Fatalf("found %s, want %s: %s", inv, want, rep.Summary())
			}
			n++
		}
	}
	return n
}
