package locksites_test

import (
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// The walk caches (kernelsim/tlbpsc.go) can fail: MADV_DONTNEED empties a
// whole PTE table and PT reclaim frees it at tlb_finish_mmu; without that
// flush (the remove mutant of its site), t2's cached PMD entry survives
// the free, and its next access to another page of the table walks
// through it into the freed table. The faithful kernel flushes first.
func TestWalkCacheIntoAFreedTable(t *testing.T) {
	ss := sites(t)
	p, err := kernelsim.Parse("psc", "mm mm1\nsetup: mmap mm1 0x10+8 anon rw\nsetup: store mm1 0x10 1\nsetup: store mm1 0x11 2\n"+
		"t1: madvise mm1 0x10+8 dontneed\nt2: load mm1 0x10\nt2: load mm1 0x11\n")
	if err != nil {
		t.Fatal(err)
	}
	// t2 walks 0x10 (caching the table's PMD entry), t1 runs its
	// MADV_DONTNEED up to just after tlb_finish_mmu freed the table, then
	// t2 loads 0x11, a page whose translation it never cached.
	const plan = "t2:3 t1:16 t2:100 t1:100"
	run := func(m *ksync.Mutant) *harness.Report {
		st, err := sched.ParsePlan(plan)
		if err != nil {
			t.Fatal(err)
		}
		return harness.Run(p, harness.Options{SemanticOnly: true, Strategy: st, Mutant: m})
	}
	rep := run(ss.Mutant(ss.ByKey("zapSingle:tlb_flush#1"), ksync.MutantRemove))
	if v := rep.Verdict.Violation; !rep.Finding() || v.Invariant != "tlb-use-after-free" || !strings.Contains(v.Detail, "paging-structure cache") {
		t.Fatalf("without tlb_finish_mmu's flush: %s, want a walk through a cached PMD entry into the freed table", rep.Summary())
	}
	if rep := run(nil); !rep.OK() {
		t.Fatalf("faithful: %s", rep.Summary())
	}
}
