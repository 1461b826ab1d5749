package locks_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/hunt"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
	"mmrace/locks"
)

// candidateRace is corpus/hugetlb_mprotect_flags_before_protection_let_
// another_mm_share_a_writable_table.txt's program: the faithful kernel
// fails it under its pinned schedule (a candidate kernel race).
const candidateRace = `mm mm1 mm2
file file1 32
file h 64 hugetlb
inject alloc-failures
setup: mmap mm1 0x40+64 h@0x0 shared rw
setup: store mm1 0x48 1
setup: store mm1 0x50 2
setup: mmap mm2 0x40+64 h@0x0 shared rw
setup: load mm2 0x48
t1: mprotect mm1 0x40+64 r
t1: fault mm1 0x60 read
t2: fork mm1 mm5
t2: store mm5 0x48 5
t3: migrate mm2 0x48
t3: mprotect mm2 0x40+64 r
schedule v1.ggnEDYAKxQvtVg
`

// killProgram fails under Migrate:folio_lock#3@remove (a hole punch
// finds the migration's new folio unlocked in the page cache, sees it
// unmapped and removes it; remove_migration_ptes then maps the orphan)
// and passes on the faithful kernel.
const killProgram = `mm mm1
file file1 16
setup: mmap mm1 0x10+8 file1@0x0 shared rw
setup: store mm1 0x10 1
t1: punch mm1 file1 0x0+1
t2: load mm1 0x10
t2: migrate mm1 0x10
`

func runPinned(t *testing.T, text string, m *ksync.Mutant) (*kernelsim.Program, *harness.Report) {
	t.Helper()
	p, err := kernelsim.Parse("test", text)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sched.ParseSchedule(p.Schedule)
	if err != nil {
		t.Fatal(err)
	}
	return p, harness.Run(p, harness.Options{Strategy: sched.NewReplay(s), SemanticOnly: true, Mutant: m})
}

// TestFaithfulFailure: a failing run whose program the faithful kernel
// fails too is found out; one the faithful kernel passes is not.
func TestFaithfulFailure(t *testing.T) {
	p, rep := runPinned(t, candidateRace, nil)
	if !rep.Finding() {
		t.Fatalf("the candidate race no longer fails on the faithful kernel:\n%s", rep.Summary())
	}
	if f := locks.FaithfulFailureForTest(p, rep, 1); f == nil {
		t.Error("the faithful kernel's failure of the candidate race was not found again")
	}
	ss := sites(t)
	site, kind, err := locks.ParseID(ss, "Migrate:folio_lock#3@remove")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := kernelsim.Parse("test", killProgram)
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 2000; seed++ {
		rep := harness.Run(kp, harness.Options{Strategy: sched.NewPCT(seed, 3, 120), SemanticOnly: true, Mutant: ss.Mutant(site, kind)})
		if !rep.Finding() {
			continue
		}
		if f := locks.FaithfulFailureForTest(kp, rep, seed); f != nil {
			t.Fatalf("the mutant's kill was taken for the faithful kernel's failure:\n%s", f.Summary())
		}
		return
	}
	t.Fatal("Migrate:folio_lock#3@remove never failed the program in 2000 PCT runs")
}

// TestFailureWithoutMutationIsNoKill: a search whose failing run the
// mutation did not take effect in (here: a run without the mutant at
// all, of a program the faithful kernel fails) reports no kill, and
// counts the failure as not the mutant's.
func TestFailureWithoutMutationIsNoKill(t *testing.T) {
	ss := sites(t)
	search := func(_ context.Context, req locks.SearchRequest) hunt.SearchResult {
		var r hunt.SearchResult
		p, rep := runPinned(t, candidateRace, nil)
		r.Executions = 1
		req.AfterRun(rep)
		if !rep.Finding() {
			t.Fatalf("the candidate race passes:\n%s", rep.Summary())
		}
		if req.Confirm(p, rep) {
			r.Detected, r.Invariant, r.Program, r.Report = true, rep.Verdict.Violation.Invariant, p, rep
		}
		return r
	}
	o := locks.Options{Sites: ss, Keep: keys("Migrate:folio_lock#3"), Kinds: []ksync.MutantKind{ksync.MutantRemove}, Runs: 1, Workers: 1, Seed: 1, OutDir: t.TempDir(), Search: search}
	rep, err := locks.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	r := resultOf(t, rep, "Migrate:folio_lock#3@remove")
	if r.Verdict == locks.Killed || r.FaithfulFindings != 1 || r.FirstFaithful == "" || rep.FaithfulFindings() != 1 {
		t.Fatalf("%+v", r)
	}
}

// TestForkWithoutMmapLockOops: fork's mmap_lock removed, a concurrent
// mremap of the parent's VMA unlinks its anon_vma while anon_vma_fork
// reads pvma->anon_vma again: the kernel's NULL dereference is a
// kernel-oops finding, not a panic of the harness (it was an internal
// error that failed a whole nightly's mmrace locks).
func TestForkWithoutMmapLockOops(t *testing.T) {
	const text = `mm mm1
file file1 32
inject alloc-failures
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
setup: store mm1 0x14 2
setup: fork mm1 mm2
setup: store mm2 0x11 3
t1: fork mm2 mm5
t2: mremap mm2 0x10+8 -> 0x48
schedule v1.YKICBcIFlrUpLA
`
	ss := sites(t)
	site, kind, err := locks.ParseID(ss, "Fork:mmap_lock#1@remove")
	if err != nil {
		t.Fatal(err)
	}
	_, rep := runPinned(t, text, ss.Mutant(site, kind))
	if rep.InternalError() || rep.Verdict.Violation.Invariant != "kernel-oops" {
		t.Fatalf("want a kernel-oops finding:\n%s", rep.Summary())
	}
}

// exitProgram: t1 walks mm1's tables (its paging-structure cache keeps
// the PMD entry of 0x10), then exits mm1; its CPU stays on mm1 lazily.
const exitProgram = `mm mm1 mm2
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
t1: load mm1 0x10
t1: exit mm1
t2: mmap mm2 0x10+8 anon rw
`

// TestLazyCPUWalkCache: exit_mmap's tlb_finish_mmu flush, removed or
// deferred past mmap_write_unlock, lets the page tables be freed while
// the exiting CPU, still lazily on the mm, caches a PMD entry into them
// (tlb-use-after-free); the faithful kernel passes.
func TestLazyCPUWalkCache(t *testing.T) {
	p := parse(t, exitProgram)
	for _, id := range []string{"", "exitMMap:tlb_flush#1@remove", "exitMMap:tlb_flush#1@flush-after-unlock"} {
		rep := harness.Run(p, harness.Options{Strategy: sched.NewPCT(1, 3, 120), SemanticOnly: true, Mutant: mutantFor(t, id)})
		switch {
		case id == "" && rep.Finding():
			t.Fatalf("the faithful kernel fails:\n%s", rep.Summary())
		case id != "" && (!rep.Finding() || rep.Verdict.Violation.Invariant != "tlb-use-after-free"):
			t.Errorf("%s: want tlb-use-after-free, got:\n%s", id, rep.Summary())
		}
	}
}

// retractProgram: khugepaged retracts the table t2 walks.
const retractProgram = `mm mm1
file file1 32
setup: mmap mm1 0x10+8 file1@0x0 shared rw thp
setup: store mm1 0x10 1
t1: collapse mm1 0x10
t2: load mm1 0x11
`

// TestFlushAfterUnlockComesAtTheUnlock: a flush deferred past the PTLs
// comes right after their release, before retract_page_tables queues
// the table's free (pte_free_defer), as the kernel's moved flush would:
// no walk cache still points to the table when it is freed. Removing
// the flush leaves one (tlb-use-after-free).
func TestFlushAfterUnlockComesAtTheUnlock(t *testing.T) {
	p := parse(t, retractProgram)
	late, removed := mutantFor(t, "retractPageTables:tlb_flush#1@flush-after-unlock"), mutantFor(t, "retractPageTables:tlb_flush#1@remove")
	killed := false
	for seed := uint64(1); seed <= 1500; seed++ {
		opts := harness.Options{Strategy: sched.NewPCT(seed, 3, 120), SemanticOnly: true, Mutant: late}
		if rep := harness.Run(p, opts); rep.Finding() {
			t.Fatalf("seed %d: the deferred flush came after the table's free:\n%s", seed, rep.Summary())
		}
		opts.Strategy, opts.Mutant = sched.NewPCT(seed, 3, 120), removed
		if rep := harness.Run(p, opts); rep.Finding() && rep.Verdict.Violation.Invariant == "tlb-use-after-free" {
			killed = true
		}
	}
	if !killed {
		t.Error("retractPageTables:tlb_flush#1@remove: no tlb-use-after-free in 1500 PCT runs")
	}
}

// TestHugetlbReservations: two first faults of one reserved huge page
// consume its reservation twice without the hugetlb fault mutex
// (hugetlb-reservation); the faithful kernel passes, with an unbounded
// pool and with a pool of exactly the reserved pages, where a private
// fault finds no unreserved page (SIGBUS, refused, no violation) and an
// mmap that would need more pages than are free fails with ENOMEM.
func TestHugetlbReservations(t *testing.T) {
	const race = `mm mm1
file h 8 hugetlb
%ssetup: mmap mm1 0x40+8 h@0x0 shared rw
t1: store mm1 0x40 1
t2: load mm1 0x41
`
	tight := `mm mm1
file h 16 hugetlb
hugepages 1
setup: mmap mm1 0x40+8 h@0x0 shared rw
t1: store mm1 0x40 1
t1: mmap mm1 0x80+8 h@0x8 shared rw
t2: load mm1 0x41
t2: mmap mm1 0x60+8 h@0x8 private rw
t2: store mm1 0x60 2
`
	run := func(text, id string, seeds uint64) (found *harness.Report, refused []string) {
		p, m := parse(t, text), mutantFor(t, id)
		for seed := range seeds {
			rep := harness.Run(p, harness.Options{Strategy: sched.NewPCT(seed, 3, 150), SemanticOnly: true, Mutant: m})
			if rep.Finding() {
				return rep, nil
			}
			if seed == 0 {
				refused = append(refused, rep.Summary())
			}
		}
		return nil, refused
	}
	for _, pool := range []string{"", "hugepages 1\n"} {
		if rep, _ := run(fmt.Sprintf(race, pool), "", 300); rep != nil {
			t.Fatalf("faithful kernel, %q: %s", pool, rep.Summary())
		}
		rep, _ := run(fmt.Sprintf(race, pool), "Exec:hugetlb_fault_mutex#7@remove", 300)
		if rep == nil || rep.Verdict.Violation.Invariant != "hugetlb-reservation" {
			t.Errorf("%q: without the fault mutex, no hugetlb-reservation violation in 300 PCT runs", pool)
		}
	}
	rep, sums := run(tight, "", 300)
	if rep != nil {
		t.Fatalf("faithful kernel, tight pool: %s", rep.Summary())
	}
	for _, want := range []string{"mmap: ENOMEM", "store 0x60: SIGSEGV"} {
		if !strings.Contains(strings.Join(sums, "\n"), want) {
			t.Errorf("tight pool: no %q in:\n%s", want, strings.Join(sums, "\n"))
		}
	}
}

// TestSplitThroughFreedPMDTable: a fault that lost its mmap_lock early
// (a mutant) splits a THP through the PMD table it found, which an mmap
// over the range freed meanwhile: the kernel's use-after-free (vmf->pmd),
// not a nil dereference of the harness. The schedule is pinned: re-pin it
// with `mmrace run` if the model's steps change.
func TestSplitThroughFreedPMDTable(t *testing.T) {
	const text = `mm mm1
file file1 32
inject alloc-failures
setup: mmap mm1 0x10+8 anon rw thp
t1: store mm1 0x11 5
t1: mmap mm1 0x10+8 anon rw thp
t2: load mm1 0x14
t3: mmap mm1 0x10+8 anon rw thp
t4: load mm1 0x14
t5: fork mm1 mm5
schedule v1.ogMogAOGAyToASJgJoQBQOQDAKT2TVQ
`
	p := parse(t, text)
	s, err := sched.ParseSchedule(p.Schedule)
	if err != nil {
		t.Fatal(err)
	}
	rep := harness.Run(p, harness.Options{Strategy: sched.NewReplay(s), SemanticOnly: true, Mutant: mutantFor(t, "Fault:mmap_lock#2@release-early")})
	if rep.InternalError() || rep.Verdict.Violation.Invariant != "use-after-free" {
		t.Fatalf("want use-after-free of the PMD table, got:\n%s", rep.Summary())
	}
}
