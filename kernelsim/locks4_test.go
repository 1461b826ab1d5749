package kernelsim_test

// Lock-sequence helpers for the mremap, exec-stack, migration and reclaim
// files of testdata/locks (mremap_move_ptes.txt, mremap_move_normal_pmd.txt,
// mremap_revert.txt, exec_relocate.txt, migrate.txt, reclaim.txt).
//
// Those paths make data choices as well as task picks: movePageTables asks
// t.Choose whether each page-table allocation fails (failslab-like
// injection). A pinned schedule= therefore has to carry data decisions
// (sched.Decision{Data: true}) as well as task picks. TestFindLockSchedules4
// builds such schedules — a task-pick family ("t2 runs for k picks, then
// t1", as TestFindLockSchedules) crossed with a data family (every
// allocation succeeds, or the j-th one fails) — and logs the recorded replay
// string of the first run that shows the wanted lock lines:
//
//	go test ./kernelsim -run TestFindLockSchedules4 -find-schedules -v
//
// The locks directive prints lock operations only; TestLockNotes4 checks the
// KindNote events (copy_vma's "need_rmap_locks=…", reclaim's "gave up") of
// the same directives, so that the comments quoting them stay true.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// pinStrategy is a deterministic sched.Strategy for schedule searches. Task
// picks: the first k picks (where more than one task is runnable) choose t2
// when it is runnable, the next one t1, and after that the current task
// keeps running (else the lowest runnable), like the non-preemptive
// fallback. Data choices: the i-th answers data(i, n).
type pinStrategy struct {
	k      int
	data   func(i, n int) int
	picks  int
	choice int
}

func (s *pinStrategy) Reset(int) { s.picks, s.choice = 0, 0 }

func (s *pinStrategy) Next(runnable []int, cur int, _ int) int {
	if len(runnable) == 1 {
		return runnable[0]
	}
	i := s.picks
	s.picks++
	has := func(x int) bool {
		for _, r := range runnable {
			if r == x {
				return true
			}
		}
		return false
	}
	switch {
	case i < s.k && has(1):
		return 1
	case i == s.k && has(0):
		return 0
	case cur >= 0 && has(cur):
		return cur
	}
	return runnable[0]
}

func (s *pinStrategy) Choose(n int) int {
	i := s.choice
	s.choice++
	v := s.data(i, n)
	if v < 0 || v >= n {
		return 0
	}
	return v
}

// dataFamily answers the data choices of a run.
type dataFamily struct {
	name string
	data func(i, n int) int
}

// allocOK answers 1 to every choice: every page-table allocation succeeds,
// both when the injection fails on answer 0 (t.Choose(8, …) == 0, as
// movePageTables first had it) and when it fails on answer 7 (allocFails:
// answer 0, the default of exhausted input, succeeds).
var allocOK = dataFamily{"every allocation succeeds (data 1)", func(int, int) int { return 1 }}

// allocFailsAt makes the j-th data choice answer fail (the others 1).
func allocFailsAt(j, fail int) dataFamily {
	return dataFamily{fmt.Sprintf("data choice %d answers %d, the others 1", j, fail), func(i, n int) int {
		if i == j {
			return fail
		}
		return 1
	}}
}

// taskLines formats task's events of the given kinds like lockLines
// (KIND OBJECT [DETAIL] @SITE), for notes and choices as well.
func taskLines(evs []sched.Event, task int, kinds ...sched.Kind) []string {
	want := map[sched.Kind]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	var out []string
	for _, e := range evs {
		if e.Task != task || !want[e.Kind] {
			continue
		}
		l := e.Kind.String() + " " + e.ObjText()
		if e.DetailText() != "" {
			l += " " + e.DetailText()
		}
		if e.Site != "" {
			l += " @" + e.Site
		}
		out = append(out, l)
	}
	return out
}

// scheduleSearch4 is a case whose schedule (task picks and data choices) is
// searched once and then pinned with schedule= in testdata/locks.
type scheduleSearch4 struct {
	name     string
	prog     string
	task     int  // whose lines want sees
	twoTasks bool // search the task-pick family too
	families []dataFamily
	// want sees the task's lock lines, notes and choices, and the refusals.
	want func(lines []string, errs []string) bool
}

var allocFailFamilies = []dataFamily{
	allocFailsAt(0, 7), allocFailsAt(1, 7), allocFailsAt(2, 7),
	allocFailsAt(0, 0), allocFailsAt(1, 0), allocFailsAt(2, 0),
}

var scheduleSearches4 = []scheduleSearch4{
	{
		name:     "mremap_move_ptes: fresh destination, allocations succeed",
		prog:     progMovePTEsFresh,
		families: []dataFamily{allocOK},
		want: func(l, errs []string) bool {
			return len(errs) == 0 && hasLine(l, "need_rmap_locks=false") && hasLine(l, "acquire ptl(pt#2) @move_ptes") &&
				!hasLine(l, "@take_rmap_locks")
		},
	},
	{
		name:     "mremap_move_ptes: two extents, allocations succeed",
		prog:     progMovePTEsExtents,
		families: []dataFamily{allocOK},
		want: func(l, errs []string) bool {
			return len(errs) == 0 && hasLine(l, "acquire ptl(pt#3) @move_ptes") && !hasLine(l, "@take_rmap_locks")
		},
	},
	{
		name:     "mremap_move_ptes: copy_vma merges into prev (anon)",
		prog:     progMovePTEsMergeAnon,
		families: []dataFamily{allocOK},
		want: func(l, errs []string) bool {
			return len(errs) == 0 && hasLine(l, "merged into") && hasLine(l, "need_rmap_locks=true") &&
				hasLine(l, "acquire anon_vma(av#1) write @take_rmap_locks")
		},
	},
	{
		name:     "mremap_move_ptes: copy_vma merges into prev (private file)",
		prog:     progMovePTEsMergeFile,
		families: []dataFamily{allocOK},
		want: func(l, errs []string) bool {
			return len(errs) == 0 && hasLine(l, "need_rmap_locks=true") &&
				hasLine(l, "acquire i_mmap_rwsem(file1) write @take_rmap_locks") &&
				hasLine(l, "acquire anon_vma(av#1) write @take_rmap_locks")
		},
	},
	{
		name:     "mremap_move_ptes: copy_vma merges into next (anon)",
		prog:     progMovePTEsMergeNext,
		families: []dataFamily{allocOK},
		want: func(l, errs []string) bool {
			return len(errs) == 0 && hasLine(l, "merged into") && hasLine(l, "need_rmap_locks=false") &&
				!hasLine(l, "@take_rmap_locks")
		},
	},
	{
		name:     "mremap_move_normal_pmd: same PMD table",
		prog:     progNormalPMDSame,
		families: []dataFamily{allocOK},
		want: func(l, errs []string) bool {
			return len(errs) == 0 && hasLine(l, "@move_normal_pmd") && hasLine(l, "@take_rmap_locks")
		},
	},
	{
		name:     "mremap_move_normal_pmd: another PMD table",
		prog:     progNormalPMDOther,
		families: []dataFamily{allocOK},
		want: func(l, errs []string) bool {
			return len(errs) == 0 && hasLine(l, "acquire pmd_lock(pmd#2) @move_normal_pmd")
		},
	},
	{
		name:     "mremap_revert: the second pte_alloc fails",
		prog:     progRevert,
		families: allocFailFamilies,
		want: func(l, errs []string) bool {
			return len(errs) == 1 && strings.Contains(errs[0], "failed after 2 of 4 pages") &&
				hasLine(l, "@take_rmap_locks")
		},
	},
	{
		name:     "mremap_revert: the whole-table move's pmd alloc fails after a move_ptes extent",
		prog:     progRevertPMD,
		families: allocFailFamilies,
		want: func(l, errs []string) bool {
			return len(errs) == 1 && strings.Contains(errs[0], "failed after 4 of 12 pages") &&
				hasLine(l, "choice alloc pmd fails")
		},
	},
	{
		name:     "reclaim: anon_vma contended by t2's split",
		prog:     progReclaimAnonContended,
		twoTasks: true,
		families: []dataFamily{allocOK},
		want: func(l, errs []string) bool {
			return hasLine(l, "trylock anon_vma(av#1) read failed @folio_lock_anon_vma_read") &&
				hasLine(l, "rmap lock contended: gave up")
		},
	},
	{
		name:     "reclaim: i_mmap contended by t2's split",
		prog:     progReclaimFileContended,
		twoTasks: true,
		families: []dataFamily{allocOK},
		want: func(l, errs []string) bool {
			return hasLine(l, "trylock i_mmap_rwsem(file1) read failed @rmap_walk_file") &&
				hasLine(l, "rmap lock contended: gave up")
		},
	},
}

// The programs of the searched cases, as in the testdata files.
const (
	progMovePTEsFresh = `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
setup: store mm1 0x11 2
setup: store mm1 0x12 3
t1: mremap mm1 0x10+3 -> 0x23
`
	progMovePTEsExtents = `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x12 1
setup: store mm1 0x14 2
t1: mremap mm1 0x12+4 -> 0x26
`
	progMovePTEsMergeAnon = `
mm mm1
setup: mmap mm1 0x10+12 anon rw
setup: store mm1 0x10 1
setup: mremap mm1 0x18+4 -> 0x40
setup: store mm1 0x40 2
setup: store mm1 0x41 3
t1: mremap mm1 0x40+4 -> 0x18
`
	progMovePTEsMergeFile = `
mm mm1
file file1 16
setup: mmap mm1 0x20+12 file1@0x0 private rw
setup: fault mm1 0x20 write
setup: mremap mm1 0x28+4 -> 0x50
setup: fault mm1 0x50 write
setup: fault mm1 0x51 read
t1: mremap mm1 0x50+4 -> 0x28
`
	progMovePTEsMergeNext = `
mm mm1
setup: mmap mm1 0x10+12 anon rw
setup: store mm1 0x10 1
setup: store mm1 0x14 2
setup: mremap mm1 0x18+4 -> 0x40
setup: store mm1 0x40 3
t1: mremap mm1 0x14+4 -> 0x3c
`
	progNormalPMDSame = `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
setup: store mm1 0x13 2
t1: mremap mm1 0x10+8 -> 0x30
`
	progNormalPMDOther = `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
setup: store mm1 0x13 2
t1: mremap mm1 0x10+8 -> 0x50
`
	progRevert = `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x12 1
setup: store mm1 0x13 2
setup: store mm1 0x14 3
t1: mremap mm1 0x12+4 -> 0x26
`
	progRevertPMD = `
mm mm1
setup: mmap mm1 0x10+16 anon rw
setup: store mm1 0x14 1
setup: store mm1 0x18 2
t1: mremap mm1 0x14+12 -> 0x3c
`
	progReclaimAnonContended = `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
t1: reclaim mm1 0x10
t2: mprotect mm1 0x14+4 r
`
	progReclaimFileContended = `
mm mm1
file file1 8
setup: mmap mm1 0x20+8 file1@0x0 shared rw
setup: fault mm1 0x20 read
t1: reclaim mm1 0x20
t2: mprotect mm1 0x24+4 r
`
)

// TestFindLockSchedules4 searches, for each case of scheduleSearches4, a
// schedule — task picks and data choices — that produces the wanted lines,
// and logs its replay string for schedule=. Run it with
//
//	go test ./kernelsim -run TestFindLockSchedules4 -find-schedules -v
func TestFindLockSchedules4(t *testing.T) {
	if !*findSchedules {
		t.Skip("pass -find-schedules to search")
	}
	for _, c := range scheduleSearches4 {
		t.Run(c.name, func(t *testing.T) {
			p, err := kernelsim.Parse(c.name, c.prog)
			if err != nil {
				t.Fatal(err)
			}
			try := func(st *pinStrategy) (string, bool) {
				rep := harness.Run(p, harness.Options{Strategy: st})
				if !rep.OK() {
					return "", false
				}
				run, err := runPhase(p, rep)
				if err != nil {
					t.Fatal(err)
				}
				lines := taskLines(run, c.task, sched.KindAcquire, sched.KindGranted, sched.KindTrylock,
					sched.KindRelease, sched.KindBlock, sched.KindNote, sched.KindChoice)
				return rep.Schedule, c.want(lines, rep.Errors)
			}
			ks := 1
			if c.twoTasks {
				ks = 200
			}
			for _, fam := range c.families {
				for k := 0; k < ks; k++ {
					if got, ok := try(&pinStrategy{k: k, data: fam.data}); ok {
						if c.twoTasks {
							t.Logf("t2 for %d picks, then t1; %s: schedule=%s", k, fam.name, got)
						} else {
							t.Logf("%s: schedule=%s", fam.name, got)
						}
						// Replaying the recorded string must give the same lines.
						q := *p
						q.Schedule = got
						rep := harness.Run(&q, harness.Options{})
						if !rep.OK() || rep.Schedule != got {
							t.Errorf("replay of %s: %s, recorded %s", got, rep.Summary(), rep.Schedule)
						}
						return
					}
				}
			}
			t.Errorf("no schedule found")
		})
	}
}

// lockNotes4 lists, per file and per locks directive in file order, the
// notes (KindNote details, of the directive's task) its comments quote.
var lockNotes4 = map[string][][]string{
	"mremap_move_ptes.txt": {
		{"vma#2 new vma#2 [0x23,0x26) pgoff 0x10: need_rmap_locks=false"},
		{"vma#2 new vma#2 [0x26,0x2a) pgoff 0x12: need_rmap_locks=false"},
		{"vma#3 merged into vma#3 [0x10,0x1c) pgoff 0x10: need_rmap_locks=true"},
		{"vma#3 merged into vma#3 [0x20,0x2c) pgoff 0x0: need_rmap_locks=true"},
		{"vma#2 merged into vma#2 [0x3c,0x44) pgoff 0x14: need_rmap_locks=false",
			"vma#4 reuses the memory of vma#1 (SLAB_TYPESAFE_BY_RCU)"},
	},
	"mremap_move_normal_pmd.txt": {
		{"vma#2 new vma#2 [0x30,0x38) pgoff 0x10: need_rmap_locks=false"},
		{"vma#2 new vma#2 [0x50,0x58) pgoff 0x10: need_rmap_locks=false"},
	},
	"mremap_revert.txt": {
		{"vma#2 new vma#2 [0x26,0x2a) pgoff 0x12: need_rmap_locks=false",
			"mremap: ENOMEM: page-table allocation failed after 2 of 4 pages; moved back"},
		{"vma#2 new vma#2 [0x3c,0x48) pgoff 0x14: need_rmap_locks=false",
			"mremap: ENOMEM: page-table allocation failed after 4 of 12 pages; moved back"},
	},
	"exec_relocate.txt": {nil, nil},
	"migrate.txt":       {nil, nil, nil},
	"reclaim.txt": {
		{"f1 in the swap cache"}, nil,
		{"f1 rmap lock contended: gave up"},
		nil, // t2's view
		{"f1 rmap lock contended: gave up"},
		{"f1 in the swap cache"},
		{"f1 in the swap cache"}, // the THP, whole
	},
}

// TestLockNotes4 re-runs the locks directives of the files in lockNotes4 and
// checks that the directive's task records exactly the listed notes. The
// directive's output is produced by runLocks, as in TestLockSequences, so
// that this test reads the files without disagreeing about them.
func TestLockNotes4(t *testing.T) {
	for file, want := range lockNotes4 {
		t.Run(file, func(t *testing.T) {
			var got [][]string
			var pos []string
			datadriven.RunTest(t, filepath.Join("testdata/locks", file), func(t *testing.T, d *datadriven.TestData) string {
				out := runLocks(t, d)
				p, err := kernelsim.Parse(d.Pos, d.Input)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				a := parseLockArgs(t, d, p)
				rep := harness.Run(p, a.opts)
				run, err := runPhase(p, rep)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				var notes []string
				for _, e := range run {
					if e.Task == a.task && e.Kind == sched.KindNote {
						notes = append(notes, strings.TrimSpace(e.ObjText()+" "+e.DetailText()))
					}
				}
				got = append(got, notes)
				pos = append(pos, d.Pos)
				return out
			})
			if len(got) != len(want) {
				t.Errorf("%s: %d locks directives, lockNotes4 lists %d", file, len(got), len(want))
			}
			for i := range got {
				var w []string
				if i < len(want) {
					w = want[i]
				}
				if strings.Join(got[i], "\n") != strings.Join(w, "\n") {
					t.Errorf("%s: the task records the notes\n\t%q\nlockNotes4 lists\n\t%q", pos[i], got[i], w)
				}
			}
		})
	}
}
