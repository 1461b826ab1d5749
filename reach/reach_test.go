package reach_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/reach"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ev is one event of a hand-made trace.
func ev(step, task int, kind sched.Kind, obj, site string) sched.Event {
	return sched.Event{Step: step, Task: task, Kind: kind, Obj: obj, Site: site}
}

// TestReached: two tasks on one lock count when the second comes before the
// first one's op ended, not after; one task alone, and RCU, never count.
func TestReached(t *testing.T) {
	tr := &sched.Trace{Events: []sched.Event{
		ev(0, 0, sched.KindOp, "mm1", "mremap"),
		ev(1, 0, sched.KindAcquire, "ptl(pt#1)", "move_ptes"),
		ev(2, 1, sched.KindOp, "mm1", "migrate"),
		ev(3, 1, sched.KindAcquire, "ptl(pt#1)", "try_to_migrate_one"),
		ev(3, 1, sched.KindAcquire, "ptl(pt#1)", "remove_migration_pte"), // the same task
		ev(4, 0, sched.KindRelease, "ptl(pt#1)", "move_ptes"),
		ev(5, 0, sched.KindAcquire, "anon_vma(av#1)", "take_rmap_locks"),
		ev(6, 0, sched.KindExit, "", ""),
		ev(6, 1, sched.KindTrylock, "anon_vma(av#1)", "folio_lock_anon_vma_read"), // at the step t1's op ended: after it
		ev(7, 1, sched.KindRCU, "rcu", "folio_lock_anon_vma_read"),
	}}
	got := reach.Reached(tr)
	want := []reach.Cell{reach.NewCell("ptl", "move_ptes", "remove_migration_pte"), reach.NewCell("ptl", "move_ptes", "try_to_migrate_one")}
	if !slices.Equal(got, want) {
		t.Fatalf("reached %v, want %v", got, want)
	}
}

// TestReachedNoteIsNotWork: an op's result, noted after it released its
// last lock, does not keep the op at work: a path that comes to the lock
// between the release and the note came after the op.
func TestReachedNoteIsNotWork(t *testing.T) {
	trace := func(tail sched.Kind) *sched.Trace {
		return &sched.Trace{Events: []sched.Event{
			ev(0, 0, sched.KindOp, "mm1", "mprotect"),
			ev(1, 0, sched.KindAcquire, "ptl(pt#1)", "change_pte_range"),
			ev(2, 0, sched.KindRelease, "ptl(pt#1)", "change_pte_range"),
			ev(3, 1, sched.KindOp, "mm1", "madvise"),
			ev(4, 1, sched.KindAcquire, "ptl(pt#1)", "try_to_free_pte"),
			ev(5, 0, tail, "mm1", "do_mprotect_pkey"),
		}}
	}
	if got := reach.Reached(trace(sched.KindNote)); len(got) != 0 {
		t.Fatalf("reached %v after a note alone: the note kept the op at work", got)
	}
	// The same trace with work after the release: the op was at work.
	want := []reach.Cell{reach.NewCell("ptl", "change_pte_range", "try_to_free_pte")}
	if got := reach.Reached(trace(sched.KindWrite)); !slices.Equal(got, want) {
		t.Fatalf("reached %v, want %v", got, want)
	}
}

// TestReachedSpans: an op ends at its last event, not at its task's next
// op or exit (a task woken by the op's last release may share its step);
// the exit_mmap that the last mmput runs after an op is a span of its
// own.
func TestReachedSpans(t *testing.T) {
	tr := &sched.Trace{Events: []sched.Event{
		ev(0, 0, sched.KindOp, "mm1", "punch"),
		ev(0, 0, sched.KindAcquire, "i_mmap_rwsem(h)", "hugetlbfs_punch_hole"),
		ev(1, 0, sched.KindRelease, "i_mmap_rwsem(h)", "hugetlbfs_punch_hole"),
		ev(2, 1, sched.KindOp, "mm2", "punch"),
		ev(2, 1, sched.KindAcquire, "i_rwsem(h)", "inode_lock"),
		ev(3, 0, sched.KindRelease, "i_rwsem(h)", "inode_unlock"),              // the punch's last event
		ev(3, 1, sched.KindAcquire, "i_mmap_rwsem(h)", "hugetlbfs_punch_hole"), // granted at the releaser's step
		ev(4, 0, sched.KindAcquire, "mmap_lock(mm1)", "exit_mmap"),             // the last mmput
		ev(5, 0, sched.KindAcquire, "i_mmap_rwsem(h)", "free_pgtables"),
		ev(6, 1, sched.KindAcquire, "i_mmap_rwsem(h)", "unmap_mapping_range"),
		ev(7, 0, sched.KindRelease, "i_mmap_rwsem(h)", "free_pgtables"),
		ev(8, 0, sched.KindExit, "", ""),
		ev(9, 1, sched.KindExit, "", ""),
	}}
	got := reach.Reached(tr)
	want := []reach.Cell{reach.NewCell("i_mmap_rwsem", "free_pgtables", "hugetlbfs_punch_hole"), reach.NewCell("i_mmap_rwsem", "free_pgtables", "unmap_mapping_range")}
	if !slices.Equal(got, want) {
		t.Fatalf("reached %v, want %v", got, want)
	}
}

// TestCatalogue: the paths generated programs show on the faithful kernel
// are the catalogue's (reach.Paths), and no cell judged impossible is
// reached; every variant's paths are in the catalogue.
func TestCatalogue(t *testing.T) {
	known := map[string]bool{}
	for _, ps := range reach.Paths {
		for _, p := range ps {
			known[p] = true
		}
	}
	for _, v := range append(kernelsim.AllVariants, kernelsim.TestOnlyVariants...) {
		for _, p := range v.Paths {
			if !known[p] {
				t.Errorf("variant %s: path %q is not in reach.Paths", v.Name, p)
			}
		}
	}
	n := 6000
	if testing.Short() {
		n = 1500
	}
	m := reach.New()
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(7, uint64(i)))
		p, sb := fuzz.Decode(fuzz.RandomInput(rng))
		var st sched.Strategy = sched.NewBytes(sb)
		if i%2 == 1 {
			st = sched.NewPCT(rng.Uint64(), 2+rng.IntN(2), 60+12*p.Ops())
		}
		rep := harness.Run(p, harness.Options{Strategy: st, MaxSteps: fuzz.MaxSteps})
		if !rep.OK() && !rep.HarnessLimit() {
			t.Fatalf("the faithful kernel fails:\n%s%s", rep.Summary(), p)
		}
		m.Add(&rep.RunTrace)
	}
	s := m.Summarize()
	if len(s.Unknown) > 0 {
		t.Errorf("cells of paths the catalogue lacks: %v", s.Unknown)
	}
	if len(s.ReachedImpossible) > 0 {
		t.Errorf("cells judged impossible were reached: %v", s.ReachedImpossible)
	}
	t.Logf("%d runs: %d cells, %d impossible, %d of %d possible reached", s.Runs, s.Cells, s.Impossible, s.Reached, s.Possible())
}

// TestModelGaps: a cell is never both impossible and a model gap, a model
// gap is printed apart from the generators' gaps with its reason, and the
// summary counts it among the empty possible cells.
func TestModelGaps(t *testing.T) {
	gaps := 0
	for _, c := range reach.AllCells() {
		if reach.ModelGap(c) == "" {
			continue
		}
		gaps++
		if r := reach.Impossible(c); r != "" {
			t.Errorf("%s is impossible (%s) and a model gap (%s)", c, r, reach.ModelGap(c))
		}
	}
	if gaps == 0 {
		t.Fatal("no model gap: the test checks nothing")
	}
	m := reach.New()
	s := m.Summarize()
	if s.ModelGaps != gaps || s.Possible()-s.Reached < gaps {
		t.Fatalf("an empty matrix counts %d model gaps, want %d", s.ModelGaps, gaps)
	}
	var b strings.Builder
	m.Write(&b)
	out := b.String()
	gap := reach.NewCell("folio_lock", "deferred_split_scan", "__split_huge_page_tail")
	if reach.ModelGap(gap) == "" {
		t.Fatalf("%s is no model gap", gap)
	}
	i, j := strings.Index(out, "the generators' gaps"), strings.Index(out, "the model has no path for (")
	if i < 0 || j < i || strings.Contains(out[i:j], gap.String()) || !strings.Contains(out[j:], "__split_huge_page_tail × deferred_split_scan") || !strings.Contains(out[j:], reach.ModelGap(gap)) {
		t.Fatalf("model gap %s not listed apart with its reason:\n%s", gap, out)
	}
}
