package locks_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"mmrace/harness"
	"mmrace/hunt"
	"mmrace/internal/locksites"
	"mmrace/internal/scenario"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
	"mmrace/locks"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var cached *locksites.Sites

func sites(t *testing.T) *locksites.Sites {
	t.Helper()
	if cached == nil {
		ss, err := locksites.Find()
		if err != nil {
			t.Fatal(err)
		}
		cached = ss
	}
	return cached
}

// TestArguments: every written argument names an existing site, with the
// site's kernel function and class, and only kinds that apply to it.
func TestArguments(t *testing.T) {
	as, err := locks.Arguments()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range as.Check(sites(t)) {
		t.Error(err)
	}
}

func TestParseArgumentsErrors(t *testing.T) {
	for _, text := range []string{
		"stray text\n",
		"[a b]\ntext\n",
		"[a b c]\n",
		"[a b c]\nkinds: delete\ntext\n",
	} {
		if _, err := locks.ParseArgumentsForTest(text); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

// TestKernelFiles: every site's kernel function (each alternative) is in
// the table of kernel files.
func TestKernelFiles(t *testing.T) {
	for _, s := range sites(t).List {
		for _, k := range strings.Split(s.Kernel, "|") {
			if f := locks.KernelFile(k); f == "?" {
				t.Errorf("%s: kernel function %s is not in the kernel file table", s.Key, k)
			}
		}
	}
}

func keys(ks ...string) func(*locksites.Site) bool {
	return func(s *locksites.Site) bool {
		for _, k := range ks {
			if s.Key == k {
				return true
			}
		}
		return false
	}
}

func resultOf(t *testing.T, rep *locks.Report, id string) locks.Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no result for %s in %+v", id, rep.Results)
	return locks.Result{}
}

// TestRun: the anon_vma read lock of the rmap walk removed is killed
// semantic-only (the walk misses a moved entry, rmap-walk-coverage,
// follows a node freed under it, use-after-free, or meets the tree
// mid-rotation, kernel-oops), its counterexample written and its
// replay command reproducing it exactly; a site no program reaches is
// not exercised, never a survivor; a rerun reuses the state file.
func TestRun(t *testing.T) {
	ss := sites(t)
	dir := t.TempDir()
	kill, dead := "rmapWalk:anon_vma_rwsem#1", "relocateVMADown:i_mmap_rwsem#1"
	o := locks.Options{Sites: ss, Keep: keys(kill, dead), Kinds: []ksync.MutantKind{ksync.MutantRemove}, Runs: 400, Workers: 2, Seed: 1, OutDir: dir}
	rep, err := locks.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	k := resultOf(t, rep, kill+"@remove")
	// Without the anon_vma lock a walk misses a PTE being moved
	// (rmap-walk-coverage), touches an AVC being freed (use-after-free)
	// or follows a NULL link of a tree being rebalanced (kernel-oops):
	// which comes first depends on the model's step counts and the
	// search's draws.
	if k.Verdict != locks.Killed || !slices.Contains([]string{"rmap-walk-coverage", "use-after-free", "kernel-oops"}, k.Invariant) || k.Applied == 0 {
		t.Fatalf("%s: %+v", k.ID, k)
	}
	for _, f := range []string{k.Scenario, k.Timeline, filepath.Join(dir, locks.StateFile)} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	d := resultOf(t, rep, dead+"@remove")
	if d.Verdict != locks.NotExercised || d.Reached != 0 || d.Executions != 400 {
		t.Errorf("%s: %+v", d.ID, d)
	}
	if rep.Summary.All.Killed != 1 || rep.Summary.All.NotExercised != 1 || rep.Summary.All.KillRate != 1 {
		t.Errorf("summary %+v", rep.Summary.All)
	}
	// The replay command: the scenario's program under the schedule,
	// exactly, with the mutant, fails the same way.
	f := strings.Fields(k.Replay)
	sc := f[len(f)-1]
	if !strings.Contains(k.Replay, "-mutant '"+kill+"@remove'") {
		t.Errorf("replay command %q lacks the mutant", k.Replay)
	}
	schedule, err := sched.ParseSchedule(sc)
	if err != nil {
		t.Fatal(err)
	}
	site, kind, err := locks.ParseID(ss, kill+"@remove")
	if err != nil {
		t.Fatal(err)
	}
	p := readScenario(t, k.Scenario)
	again := harness.Run(p, harness.Options{Strategy: sched.NewReplay(schedule), SemanticOnly: true, Mutant: ss.Mutant(site, kind)})
	if again.Verdict.Violation.Invariant != k.Invariant {
		t.Errorf("replay: %s, want %s", again.Summary(), k.Invariant)
	}
	// A rerun finds everything in the state file: no search at all.
	o.Search = func(context.Context, locks.SearchRequest) hunt.SearchResult {
		t.Error("a finished mutant was searched again")
		return hunt.SearchResult{}
	}
	rep2, err := locks.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Results) != 2 || resultOf(t, rep2, kill+"@remove").Scenario != k.Scenario {
		t.Errorf("rerun: %+v", rep2.Results)
	}
}

// TestInterrupted: a run stopped by its context reports what finished and
// the rest as not run; a rerun runs the rest only.
func TestInterrupted(t *testing.T) {
	ss := sites(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	searched := map[string]int{}
	o := locks.Options{Sites: ss, Keep: keys("pmdAlloc:page_table_lock#1", "pteAlloc:ptl#1"), Runs: 50, Workers: 1, Seed: 1, OutDir: dir, Context: ctx,
		Search: func(ctx context.Context, req locks.SearchRequest) hunt.SearchResult {
			r := locks.DefaultSearch(ctx, req)
			return r
		}}
	o.Progress = func(r locks.Result) {
		searched[r.ID]++
		cancel() // stop after the first mutant
	}
	rep, err := locks.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || len(rep.Results) == 0 || len(rep.NotRun) == 0 || len(rep.Results)+len(rep.NotRun) != rep.Mutants {
		t.Fatalf("interrupted run: %d results, not run %v, interrupted %v", len(rep.Results), rep.NotRun, rep.Interrupted)
	}
	o.Context = context.Background()
	o.Progress = func(r locks.Result) { searched[r.ID]++ }
	rep2, err := locks.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Interrupted || len(rep2.Results) != rep.Mutants {
		t.Fatalf("resumed run: %d results of %d", len(rep2.Results), rep.Mutants)
	}
	for id, n := range searched {
		if n != 1 {
			t.Errorf("%s finished %d times", id, n)
		}
	}
}

// TestNeverAKill: internal errors, and rule checks firing although the
// run is semantic-only, are internal errors, never kills.
func TestNeverAKill(t *testing.T) {
	ss := sites(t)
	for _, tc := range []struct {
		name   string
		result func() hunt.SearchResult
	}{
		{"internal", func() hunt.SearchResult {
			return hunt.SearchResult{Detection: hunt.Detection{Executions: 3, InternalErrors: 1, FirstInternal: "mmrace internal error: planted"}}
		}},
		{"rule", func() hunt.SearchResult {
			rep := &harness.Report{Verdict: sched.Verdict{Outcome: sched.Failed, Violation: sched.Violation{Invariant: "lock-rule", Detail: "planted"}}}
			rep.Program = nil
			return hunt.SearchResult{Detection: hunt.Detection{Executions: 1, Detected: true, Invariant: "lock-rule"}, Report: rep, Program: harnessProgram(t)}
		}},
	} {
		o := locks.Options{Sites: ss, Keep: keys("pmdAlloc:page_table_lock#1"), Kinds: []ksync.MutantKind{ksync.MutantRemove}, Runs: 10, OutDir: t.TempDir(),
			Search: func(context.Context, locks.SearchRequest) hunt.SearchResult { return tc.result() }}
		rep, err := locks.Run(o)
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Results[0]
		if r.Verdict != locks.InternalError || rep.InternalErrors() != 1 || rep.Summary.All.Killed != 0 {
			t.Errorf("%s: %+v", tc.name, r)
		}
	}
}

// TestDeterministic: a mutant's search is the same for a seed and a run
// budget, whatever else runs.
func TestDeterministic(t *testing.T) {
	ss := sites(t)
	var first []byte
	for i, keep := range [][]string{{"movePTEs:ptl#2"}, {"movePTEs:ptl#2", "pmdAlloc:page_table_lock#1", "doAnonymousPage:rcu#1"}} {
		rep, err := locks.Run(locks.Options{Sites: ss, Keep: keys(keep...), Kinds: []ksync.MutantKind{ksync.MutantRemove}, Runs: 150, Workers: 2, Seed: 5, OutDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		r := resultOf(t, rep, "movePTEs:ptl#2@remove")
		r.Seconds, r.Scenario, r.Timeline, r.Replay = 0, "", "", ""
		b, _ := json.Marshal(r)
		if i == 0 {
			first = b
		} else if string(b) != string(first) {
			t.Errorf("different results:\n%s\n%s", first, b)
		}
	}
}

func TestParseID(t *testing.T) {
	ss := sites(t)
	for _, bad := range []string{"nosuch", "nosuch@remove", "pmdAlloc:page_table_lock#1@delete", "pmdAlloc:page_table_lock#1@ignore-trylock-failure", "vmaLinkFile:vma_lock#1@remove"} {
		if _, _, err := locks.ParseID(ss, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if s, k, err := locks.ParseID(ss, "rmapWalk:anon_vma_rwsem#1@ignore-trylock-failure"); err != nil || s.Key != "rmapWalk:anon_vma_rwsem#1" || k != ksync.MutantIgnoreTrylockFailure {
		t.Errorf("%v %v %v", s, k, err)
	}
}

func readScenario(t *testing.T, path string) *kernelsim.Program {
	t.Helper()
	p, err := scenario.ReadProgram(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func harnessProgram(t *testing.T) *kernelsim.Program {
	t.Helper()
	p, err := kernelsim.Parse("planted", "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nt1: fault mm1 0x10 write\nt2: fault mm1 0x11 write\n")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPairRunsKill: under a mutant, hunt's search races the task that
// reached the mutated site against one adversary at a time (pair runs,
// hunt/pairs.go). khugepaged's PMD scan without its RCU read section
// (hpage_collapse_scan_pmd's pte_offset_map) survived 10,000 executions of
// the byte search alone; with pair runs, a PT reclaim freeing the table it
// scans is found within a few hundred.
func TestPairRunsKill(t *testing.T) {
	ss := sites(t)
	site, kind, err := locks.ParseID(ss, "hpageCollapseScanPMD:rcu#1@remove")
	if err != nil {
		t.Fatal(err)
	}
	// Over eight seeds: with the map's budget of 10,000 executions at
	// least seven searches kill it, and every one within twice that (the
	// number of executions is heavy-tailed and moves with every template
	// added: with 120 templates one seed needed 12,170, the others 44 to
	// 2,210); pair runs find it in most (the byte programs now and then get
	// there first since they punch holes and aim at pages).
	byPair, inBudget := 0, 0
	for seed := uint64(1); seed <= 8; seed++ {
		res := locks.DefaultSearch(context.Background(), locks.SearchRequest{Mutant: ss.Mutant(site, kind), Runs: 20000, Seed: seed})
		if !res.Detected || res.Invariant != "use-after-free" {
			t.Fatalf("seed %d: detected %v (%s) in %d executions, %d pair runs", seed, res.Detected, res.Invariant, res.Executions, res.PairRuns)
		}
		if res.ByPair {
			byPair++
		}
		if res.Executions <= 10000 {
			inBudget++
		}
		t.Logf("seed %d: killed in %d executions (%d pair runs, by a pair: %v)", seed, res.Executions, res.PairRuns, res.ByPair)
	}
	if inBudget < 7 {
		t.Errorf("killed within the map's budget of 10,000 executions in %d of 8 searches", inBudget)
	}
	if byPair < 6 {
		t.Errorf("pair runs found it in %d of 8 searches", byPair)
	}
}

// TestFaultBelowVMAStartIsBeyondEOF: with mmap_lock released early in
// lock_mm_and_find_vma, a fault computed its file index from a VMA that an
// mremap had moved: the address lay below vm_start and the index was
// negative, which indexed the page cache with -33 (an internal error of
// the full mmrace locks run). The kernel's pgoff_t is unsigned: the index
// is beyond EOF and the fault gets SIGBUS.
func TestFaultBelowVMAStartIsBeyondEOF(t *testing.T) {
	ss := sites(t)
	site, kind, err := locks.ParseID(ss, "Fault:mmap_lock#1@release-early")
	if err != nil {
		t.Fatal(err)
	}
	p, err := kernelsim.Parse("below-vm-start", `mm mm1
file file1 32
inject alloc-failures
setup: mmap mm1 0x10+2 file1@0x0 shared rw
setup: mmap mm1 0x12+2 file1@0x0 private rw
setup: mmap mm1 0x14+4 anon rw
setup: store mm1 0x14 1
setup: store mm1 0x15 2
setup: reclaim mm1 0x15
setup: load mm1 0x10
t1: store mm1 0x11 5
t1: migrate mm1 0x10
t2: fault mm1 0x13 write
t3: store mm1 0x15 9
t4: fault mm1 0x13 write
t4: mremap mm1 0x10+8 -> 0x30
`)
	if err != nil {
		t.Fatal(err)
	}
	schedule, err := sched.ParseSchedule("v1.5geABOIC5AVgpgINhhmfCRDP")
	if err != nil {
		t.Fatal(err)
	}
	rep := harness.Run(p, harness.Options{Strategy: sched.NewReplay(schedule), SemanticOnly: true, Mutant: ss.Mutant(site, kind)})
	if rep.InternalError() || !rep.OK() {
		t.Fatalf("%s", rep.Summary())
	}
	if len(rep.Errors) == 0 || !strings.Contains(strings.Join(rep.Errors, "\n"), "store 0x11") {
		t.Errorf("the store through the moved VMA was not refused: %v", rep.Errors)
	}
}

// TestPrivateHugetlbKills: the PMD table lock of hugetlb_change_protection
// and of __unmap_hugepage_range excludes the anon rmap walkers of a private
// hugetlb mapping's COW folios (a migration under anon_vma->rwsem R, which
// neither i_mmap_rwsem W nor the hugetlb VMA lock W excludes). Before
// private mappings were modelled, both mutants survived 10,000 executions:
// every walker of a shared mapping's entries holds i_mmap_rwsem. The
// hugetlb migration's folio lock keeps a write fault of a fork-shared anon
// folio from reusing it (folio_move_anon_rmap) while its other mapping is
// a migration entry: the new folio would inherit the wrong anon_vma and
// remove_migration_ptes miss that entry. The budget is mmrace locks' own.
func TestPrivateHugetlbKills(t *testing.T) {
	ss := sites(t)
	ids := []string{"hugetlbChangeProtection:ptl#1@remove", "unmapHugepageRange:ptl#1@remove", "unmapAndMoveHugePage:folio_lock#2@remove"}
	// The searches of mmrace locks itself (its seed, its budget, each
	// mutant's own seed derived from them), so the test says what the map
	// says.
	rep, err := locks.Run(locks.Options{Sites: ss, Keep: keys("hugetlbChangeProtection:ptl#1", "unmapHugepageRange:ptl#1", "unmapAndMoveHugePage:folio_lock#2"),
		Kinds: []ksync.MutantKind{ksync.MutantRemove}, Runs: 10000, Workers: 2, Seed: 1, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		r := resultOf(t, rep, id)
		if r.Verdict != locks.Killed {
			t.Errorf("%s: %+v", id, r)
			continue
		}
		t.Logf("%s: %s in %d executions", id, r.Invariant, r.Executions)
	}
}

// TestArgumentCodeLine: an argument's code line must be on its site's
// call chain, so that a renumbered site is not argued by another's text.
func TestArgumentCodeLine(t *testing.T) {
	for key, want := range map[string]bool{"hugetlbFault:ptl#3": true, "hugetlbFault:ptl#1": false} {
		as, err := locks.ParseArgumentsForTest("[" + key + " hugetlb_wp ptl]\ncode: folio_put(old_folio) is done unlocked\ntext\n")
		if err != nil {
			t.Fatal(err)
		}
		renumbered := false
		for _, err := range as.Check(sites(t)) {
			renumbered = renumbered || strings.Contains(err.Error(), "renumbered")
		}
		if renumbered == want {
			t.Errorf("%s: renumbered reported %v", key, renumbered)
		}
	}
}
