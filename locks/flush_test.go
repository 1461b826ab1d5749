package locks_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
	"mmrace/locks"
)

func parse(t *testing.T, text string) *kernelsim.Program {
	t.Helper()
	p, err := kernelsim.Parse("test", text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mremapProg moves a faulted page; t2 holds its translation; t3 migrates
// the page where it went.
const mremapProg = `mm mm1
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 1
t1: mremap mm1 0x10+4 -> 0x30
t2: load mm1 0x10
t2: load mm1 0x10
t3: migrate mm1 0x30
t2: load mm1 0x10
`

func mutantRun(t *testing.T, p *kernelsim.Program, id string, st sched.Strategy) *harness.Report {
	t.Helper()
	return harness.Run(p, harness.Options{Strategy: st, SemanticOnly: true, MaxSteps: 10000, Mutant: mutantFor(t, id)})
}

// mutantFor is the mutant SITE@KIND id, nil for "" (the faithful kernel).
func mutantFor(t *testing.T, id string) *ksync.Mutant {
	t.Helper()
	if id == "" {
		return nil
	}
	ss := sites(t)
	site, kind, err := locks.ParseID(ss, id)
	if err != nil {
		t.Fatal(err)
	}
	return ss.Mutant(site, kind)
}

// events returns the concurrent phase's events of task t1 as strings.
func events(rep *harness.Report, task int) []string {
	var out []string
	for _, e := range rep.RunTrace.Events {
		if e.Task == task {
			out = append(out, e.String())
		}
	}
	return out
}

func index(es []string, sub string) int {
	for i, e := range es {
		if strings.Contains(e, sub) {
			return i
		}
	}
	return -1
}

// TestFlushMutantTrace: the two flush mutants of move_ptes, under the
// non-preemptive schedule: remove leaves no flush of the old range and
// notes the removal; flush-after-unlock flushes it as a step of its own
// after both PTLs are released, where it noted the deferral.
func TestFlushMutantTrace(t *testing.T) {
	p := parse(t, mremapProg)
	const flush = "write    mm1 tlb @move_ptes"
	faithful := events(harness.Run(p, harness.Options{SemanticOnly: true, MaxSteps: 10000}), 0)
	if i, j := index(faithful, flush), index(faithful, "release  ptl(pt#1) @move_ptes"); i < 0 || j < 0 || i > j {
		t.Fatalf("faithful: the flush (%d) does not come before the PTL release (%d):\n%s", i, j, strings.Join(faithful, "\n"))
	}
	removed := events(mutantRun(t, p, "movePTEs:tlb_flush#1@remove", nil), 0)
	if index(removed, flush) >= 0 || index(removed, "remove: flush_tlb_range [0x10,0x14) removed") < 0 {
		t.Errorf("remove: the flush is still there, or the removal is not noted:\n%s", strings.Join(removed, "\n"))
	}
	late := events(mutantRun(t, p, "movePTEs:tlb_flush#1@flush-after-unlock", nil), 0)
	note := index(late, "flush-after-unlock: flush_tlb_range [0x10,0x14) deferred past the release of ptl(pt#2)")
	rel1, rel2 := index(late, "release  ptl(pt#2) @move_ptes"), index(late, "release  ptl(pt#1) @move_ptes")
	done := index(late, "mm1 tlb @move_ptes (mutant flush-after-unlock: after the unlock): flush_tlb_range [0x10,0x14)")
	if note < 0 || rel1 < note || rel2 < rel1 || done != rel2+1 {
		t.Errorf("flush-after-unlock: note %d, PTL releases %d %d, flush %d (want right after the second release):\n%s", note, rel1, rel2, done, strings.Join(late, "\n"))
	}
}

// TestFlushMutantIsTheVariant: move_ptes' flush-after-unlock mutant does
// what variant move_ptes-flush-after-unlock does: under the same
// schedules the same verdicts, and the same events but for the mutant's
// notes and the flush's site label.
func TestFlushMutantIsTheVariant(t *testing.T) {
	p := parse(t, mremapProg)
	v := *p
	v.Variants = kernelsim.Variants{"move_ptes-flush-after-unlock": true}
	norm := func(rep *harness.Report) string {
		var b strings.Builder
		for _, e := range rep.RunTrace.Events {
			if e.Kind == sched.KindNote && strings.Contains(e.DetailText(), "mutant") {
				continue
			}
			e.Site = strings.TrimSuffix(strings.TrimSuffix(e.Site, " (after the PTLs)"), " (mutant flush-after-unlock: after the unlock)")
			b.WriteString(e.String() + "\n")
		}
		return b.String()
	}
	failed := 0
	for seed := range uint64(300) {
		st := func() sched.Strategy { return sched.NewPCT(seed, 3, 60+12*p.Ops()) }
		want := harness.Run(&v, harness.Options{Strategy: st(), SemanticOnly: true, MaxSteps: 10000})
		got := mutantRun(t, p, "movePTEs:tlb_flush#1@flush-after-unlock", st())
		if want.Verdict.Violation.Invariant != got.Verdict.Violation.Invariant || norm(want) != norm(got) {
			t.Fatalf("seed %d: variant %s, mutant %s\nvariant:\n%s\nmutant:\n%s", seed, want.Summary(), got.Summary(), norm(want), norm(got))
		}
		if want.Verdict.Outcome != sched.OK {
			failed++
		}
	}
	if failed == 0 {
		t.Error("no schedule of the 300 fails: the comparison says nothing about the consequence")
	}
}

// TestLateFlushJudgedAfterIt: with nothing running in the window a late
// flush opens, the checks that judge the flush see it done: the
// non-preemptive run of an mprotect, a fork, a migration and a munmap
// with the flush deferred past the unlock passes; with the flush removed
// it fails.
func TestLateFlushJudgedAfterIt(t *testing.T) {
	for _, tc := range []struct{ site, prog string }{
		{"Mprotect:tlb_flush#1", "t2: store mm1 0x10 5\nt1: mprotect mm1 0x10+4 r\n"},
		{"Fork:tlb_flush#1", "t2: store mm1 0x10 5\nt1: fork mm1 mm2\n"},
		{"tryToMigrate.func4:tlb_flush#1", "t2: store mm1 0x10 5\nt1: migrate mm1 0x10\n"},
		// Half the VMA: its page table stays (a table freed at
		// tlb_finish_mmu, which queues its free before the late flush,
		// is a consequence even serially: TestLazyCPUWalkCache).
		{"doVMIAlignMunmap:tlb_flush#1", "t2: store mm1 0x10 5\nt1: munmap mm1 0x10+2\n"},
		{"zapSingle:tlb_flush#1", "t2: store mm1 0x10 5\nt1: madvise mm1 0x10+4 dontneed\n"},
	} {
		p := parse(t, "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nsetup: store mm1 0x10 1\n"+tc.prog)
		serial := func() sched.Strategy { return sched.NewBytes(nil) }
		late := mutantRun(t, p, tc.site+"@flush-after-unlock", serial())
		if late.Verdict.Outcome != sched.OK || !strings.Contains(late.RunTrace.String(), "(mutant flush-after-unlock:") {
			t.Errorf("%s@flush-after-unlock, nothing in the window: %s", tc.site, late.Summary())
		}
		if rm := mutantRun(t, p, tc.site+"@remove", serial()); rm.Verdict.Outcome == sched.OK {
			t.Errorf("%s@remove: no consequence in the run that judged the late flush", tc.site)
		}
	}
}

// TestMovePTEsFlushAfterUnlockKilled: the CVE-2018-18281 mutant is killed
// semantic-only (the page moved away is migrated and freed while another
// task still translates the old address to it), and its counterexample
// replays with the printed command.
func TestMovePTEsFlushAfterUnlockKilled(t *testing.T) {
	ss := sites(t)
	id := "movePTEs:tlb_flush#1@flush-after-unlock"
	rep, err := locks.Run(locks.Options{Sites: ss, Keep: keys("movePTEs:tlb_flush#1"), Kinds: []ksync.MutantKind{ksync.MutantFlushAfterUnlock},
		Runs: 10000, Workers: 1, Seed: 1, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := resultOf(t, rep, id)
	if r.Verdict != locks.Killed || (r.Invariant != "tlb-coherence" && r.Invariant != "tlb-use-after-free") {
		t.Fatalf("%+v", r)
	}
	if rep.Summary.Flushes.Killed != 1 || rep.Summary.Locks.Mutants != 0 {
		t.Errorf("flush summary %+v, lock summary %+v", rep.Summary.Flushes, rep.Summary.Locks)
	}
	var b bytes.Buffer
	rep.WriteTable(&b)
	if !strings.Contains(b.String(), "kill rate over exercised TLB flush-site mutants: 1/1 = 100%") {
		t.Errorf("the table has no flush-site kill rate line:\n%s", b.String())
	}
	f := strings.Fields(r.Replay)
	schedule, err := sched.ParseSchedule(f[len(f)-1])
	if err != nil {
		t.Fatal(err)
	}
	site, kind, err := locks.ParseID(ss, id)
	if err != nil {
		t.Fatal(err)
	}
	again := harness.Run(readScenario(t, r.Scenario), harness.Options{Strategy: sched.NewReplay(schedule), SemanticOnly: true, Mutant: ss.Mutant(site, kind)})
	if again.Verdict.Violation.Invariant != r.Invariant {
		t.Errorf("replay: %s, want %s", again.Summary(), r.Invariant)
	}
	idx, err := os.ReadFile(r.Scenario)
	if err != nil || !strings.Contains(string(idx), "-mutant '"+id+"'") {
		t.Errorf("the scenario does not say how to replay it (%v)", err)
	}
}

// TestFlushShapesFaithful: the programs the flush search draws find
// nothing on the faithful kernel (they race user accesses against every
// flush window: a false positive there would be a "kill" of every flush
// mutant).
func TestFlushShapesFaithful(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 300
	}
	for _, focus := range []string{"", "wp_page_copy", "dup_mmap", "move_normal_pmd", "move_ptes", "try_to_migrate_one", "do_mprotect_pkey", "exit_mmap", "madvise_dontneed_single_vma", "do_vmi_align_munmap"} {
		r := locks.ShapeSearchForTest(context.Background(), locks.SearchRequest{Runs: n, Seed: 3, Focus: focus})
		if r.Detected || r.InternalErrors > 0 || r.Executions != n {
			msg := r.FirstInternal
			if r.Report != nil {
				msg = r.Report.Summary() + r.Program.String() + "schedule " + r.Report.Schedule
			}
			t.Errorf("focus %q: %+v\n%s", focus, r.Detection, msg)
		}
	}
}

// TestCOWCompareAfterLateFlush: wp_page_copy's memory-contents compare
// reaches to its flush when a mutant defers it past the PTL release: a
// store through a stale writable translation of the copied page, made
// after the new PTE is in place but before the late flush, is lost and
// reported as such. The stale writable translation needs a second bug:
// variant dup_mmap-no-parent-vma-write-lock lets the fault run during the
// fork, before dup_mmap's flush (D.12c). The schedule is a hand-written
// plan (the corpus scenario's, dup_mmap_copies_a_parent_vma_that_is_not_
// write_locked.txt); the test tries the plans near it, so that a change of
// the model's step counts does not break it, and requires one of them to
// show the lost store.
func TestCOWCompareAfterLateFlush(t *testing.T) {
	p := parse(t, `mm mm1
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 1
t1: fork mm1 mm2
t2: store mm1 0x10 2
t2: store mm1 0x10 4
t2: load mm1 0x10
t3: store mm1 0x10 3
`)
	p.Variants = kernelsim.Variants{"dup_mmap-no-parent-vma-write-lock": true}
	var last *harness.Report
	for d1 := -4; d1 <= 4; d1++ {
		for d2 := -4; d2 <= 4; d2++ {
			for d3 := 0; d3 <= 4; d3++ {
				plan, err := sched.ParsePlan(fmt.Sprintf("t2:3 t1:%d t3:%d t2:2 t3:%d t1:30 t2:10", 27+d1, 16+d2, 30+d3))
				if err != nil {
					t.Fatal(err)
				}
				rep := mutantRun(t, p, "wpPageCopy:tlb_flush#1@flush-after-unlock", plan)
				if rep.InternalError() {
					t.Fatal(rep.Summary())
				}
				if rep.Verdict.Violation.Invariant == "memory-contents" && strings.Contains(rep.Verdict.Violation.Detail, "before its deferred flush a store through a stale writable translation put 4 into f1") {
					return
				}
				last = rep
			}
		}
	}
	t.Fatalf("no plan near the scenario's shows the lost store; the last:\n%s%s", last.Summary(), last.RunTrace.String())
}

// TestFlushMutantReplaysTheCVEScenario: the corpus scenario of
// CVE-2018-18281, pinned for variant move_ptes-flush-after-unlock, fails
// the same way under its own schedule with the mutant instead of the
// variant.
func TestFlushMutantReplaysTheCVEScenario(t *testing.T) {
	p := readScenario(t, "../corpus/move_ptes_flushing_after_the_ptl_leaves_a_stale_tlb_entry.txt")
	p.Variants = kernelsim.Variants{"move_ptes-flush-after-unlock": true}
	want := harness.Run(p, harness.Options{SemanticOnly: true, MaxSteps: 10000})
	p.Variants = nil
	got := mutantRun(t, p, "movePTEs:tlb_flush#1@flush-after-unlock", nil)
	if want.Verdict.Violation.Invariant != "tlb-coherence" || got.Verdict.Violation != want.Verdict.Violation {
		t.Errorf("variant: %smutant: %s", want.Summary(), got.Summary())
	}
}

// TestNoFlushOwedForAnUnchangedProtection: mprotect to read-only of a page
// that is read-only already clears and rewrites its PTE
// (ptep_modify_prot_start, ptep_modify_prot_commit) but owes no flush
// (pte_needs_flush is false). The model used to keep that debt after the
// op returned: a mutant run (which checks the debts an op returns with,
// flushmutant.go) then blamed t3 for its entry of 0x19, made stale by
// t1's MADV_DONTNEED, under a mutant of a site (KSM's) that never ran;
// mmrace locks listed the run as a failure not caused by the mutant. In
// the faithful kernel the left debt excused other tasks' stale entries of
// the page for the rest of the run (otherOwesFlush). Every schedule must
// pass.
func TestNoFlushOwedForAnUnchangedProtection(t *testing.T) {
	p := parse(t, `mm mm1
file file1 16
setup: mmap mm1 0x10+4 file1@0x0 shared rw
setup: mmap mm1 0x18+4 file1@0x0 private rw
setup: store mm1 0x10 1
setup: load mm1 0x19
setup: store mm1 0x1a 2
t1: madvise mm1 0x19+1 dontneed
t1: load mm1 0x19
t2: store mm1 0x19 12
t2: load mm1 0x19
t2: store mm1 0x19 14
t3: load mm1 0x19
t3: mprotect mm1 0x18+4 r
schedule v1.hASAAoIGBNLNh-E
`)
	const mutant = "writeProtectPage:tlb_flush#1@remove"
	if rep := mutantRun(t, p, mutant, nil); !rep.OK() {
		t.Fatalf("the schedule mmrace locks found: %s", rep.Summary())
	}
	p.Schedule = ""
	for seed := range uint64(2000) {
		if rep := mutantRun(t, p, mutant, sched.NewPCT(seed, 3, 120)); !rep.OK() {
			t.Fatalf("PCT seed %d: %s", seed, rep.Summary())
		}
	}
}

// TestCachedPUDEntryOutlivesTheSharedTable: the CPUs cache PUD entries
// (kernelsim/tlbpud.go). t1's MADV_DONTNEED unshares mm1 from the hugetlb
// PMD table it shared with mm2; with its flush deferred past i_mmap_rwsem
// (the flush-after-unlock mutant), mm2's munmap, the table's last user,
// frees it while t1's CPU still caches mm1's PUD entry into it. The
// faithful kernel flushes first and passes every schedule.
func TestCachedPUDEntryOutlivesTheSharedTable(t *testing.T) {
	p := parse(t, `mm mm1 mm2
file file1 32
file h 64 hugetlb
setup: mmap mm1 0x40+64 h@0x0 shared rw
setup: store mm1 0x48 1
setup: mmap mm2 0x40+64 h@0x0 shared rw
setup: load mm2 0x48
t1: madvise mm1 0x48+8 dontneed
t2: munmap mm2 0x40+64
schedule v1.gAKiDFoeLwk
`)
	rep := mutantRun(t, p, "unmapHugepageRange:tlb_flush#1@flush-after-unlock", nil)
	if inv := rep.Verdict.Violation.Invariant; inv != "tlb-use-after-free" || !strings.Contains(rep.Verdict.Violation.Detail, "PUD entry of mm1 0x40") {
		t.Fatalf("the mutant: want tlb-use-after-free through mm1's cached PUD entry, got %s", rep.Summary())
	}
	p.Schedule = ""
	for seed := range uint64(1000) {
		if rep := mutantRun(t, p, "", sched.NewPCT(seed, 3, 200)); !rep.OK() {
			t.Fatalf("the faithful kernel, PCT seed %d: %s", seed, rep.Summary())
		}
	}
}

// TestBreakBeforeMake: wp_page_copy flushes the old translation before it
// sets the PTE of the copy (ptep_clear_flush). Deferred past the PTL
// (the flush-after-unlock mutant), t1 stores 77 through the new PTE while
// t2 still loads the old page through its stale translation and reads 1:
// tlb-coherence (kernelsim/tlbbbm.go). The faithful kernel passes every
// schedule of the program.
func TestBreakBeforeMake(t *testing.T) {
	p := parse(t, `mm mm1
file file1 16
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
setup: fork mm1 mm2
t1: store mm1 0x10 77
t2: load mm1 0x10
t2: load mm1 0x10
t3: store mm1 0x10 12
schedule v1.QuQEYCIKmKjE
`)
	rep := mutantRun(t, p, "wpPageCopy:tlb_flush#1@flush-after-unlock", nil)
	if d := rep.Verdict.Violation.Detail; rep.Verdict.Violation.Invariant != "tlb-coherence" || !strings.Contains(d, "break-before-make") || !strings.Contains(d, "-> 1, where f2 now holds 77") {
		t.Fatalf("the mutant: want tlb-coherence (break-before-make), got %s", rep.Summary())
	}
	p.Schedule = ""
	for seed := range uint64(2000) {
		for _, windows := range []bool{false, true} {
			pct := sched.NewPCT(seed, 3, 150)
			pct.Windows = windows
			if rep := mutantRun(t, p, "", pct); !rep.OK() {
				t.Fatalf("the faithful kernel, PCT seed %d: %s", seed, rep.Summary())
			}
		}
	}
}

// TestBatchedFlushMarkedFlushedTooEarly: flush_tlb_batched_pending flushes,
// then marks reclaim's pending batch flushed (the cmpxchg). Its flush
// deferred past the PTL (the flush-after-unlock mutant) comes after the
// mark: t1's MADV_DONTNEED then finds the batch flushed and returns while
// its own TLB still maps the page reclaim (t3) unmapped, which t2's
// mprotect has marked but not yet flushed. This was once argued
// equivalent ("only the flush moves"); mmrace locks killed it once PCT
// preempted lockless page-table reads. The faithful kernel passes.
func TestBatchedFlushMarkedFlushedTooEarly(t *testing.T) {
	p := parse(t, `mm mm1
file file1 32
inject alloc-failures
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 1
setup: mmap mm1 0x18+4 file1@0x0 shared rw
setup: store mm1 0x18 2
t1: madvise mm1 0x18+1 dontneed
t2: mprotect mm1 0x10+2 r
t3: reclaim mm1 0x18
t4: migrate mm1 0x10
t5: mprotect mm1 0x10+2 r
schedule v1.xAZGogUo4AKaCPOz
`)
	rep := mutantRun(t, p, "flushTLBBatchedPending:tlb_flush#1@flush-after-unlock", nil)
	if rep.Verdict.Violation.Invariant != "tlb-coherence" || !strings.Contains(rep.Verdict.Violation.Detail, "madvise(MADV_DONTNEED) of mm1 [0x18,0x19) is done") {
		t.Fatalf("the mutant: want tlb-coherence at the madvise's end, got %s", rep.Summary())
	}
	p.Schedule = ""
	for seed := range uint64(1000) {
		pct := sched.NewPCT(seed, 3, 250)
		pct.Windows = seed%2 == 0
		if rep := mutantRun(t, p, "", pct); !rep.OK() {
			t.Fatalf("the faithful kernel, PCT seed %d: %s", seed, rep.Summary())
		}
	}
}
