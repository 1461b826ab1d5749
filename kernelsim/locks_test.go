package kernelsim_test

// Lock-sequence tests: each file in testdata/locks is a cockroachdb/datadriven
// script whose `locks` directives run one kernelsim program through
// harness.Run and print, for one task, the ordered lock operations of the
// concurrent phase. The files pin the lock sequence of each simulated path
// against the numbered steps of the kernel's paths (docs/references.md:
// C.1-C.5, B.8), so a change to a path's locking shows up as a diff.
//
//	locks [task=tN] [schedule=v1.…|seed=N|plan=(t1:N,t2:M,...)] [rules=off]
//	<kernelsim program text>
//	----
//	<verdict: the first line of Report.Summary(), then any refused ops>
//	<one line per acquire, granted, trylock, release or block event of tN:
//	 KIND OBJECT [DETAIL] @SITE>
//	steps: <scheduling points of the concurrent phase>
//
// task=tN    whose lock operations to print (default t1)
// schedule=  a replay string pinning the interleaving (harness replays it)
// seed=N     run under sched.NewRandom(N) instead
// plan=(...) run under a hand-written sched.Plan ("t1:4,t2:9": task:points)
// rules=off  semantic-only run (no lock-order, lockdep or lock-rule checks)
// notes=on   also print tN's notes (note OBJECT DETAIL @SITE) and data
//            choices (choice WHAT: N of M) where they fall: the re-checks
//            that fail (!pmd_same, check_pmd_state), need_resched
//
// Regenerate the expected outputs with
//
//	go test ./kernelsim -run TestLockSequences -rewrite
//
// and read every diff against the reference before committing it. To find a
// schedule for a new two-task case, see TestFindLockSchedules.

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"go.uber.org/goleak"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLockSequences(t *testing.T) {
	datadriven.Walk(t, "testdata/locks", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "locks" {
				d.Fatalf(t, "unknown directive %q (want locks)", d.Cmd)
			}
			return runLocks(t, d)
		})
	})
}

// lockArgs are the parsed arguments of a locks directive.
type lockArgs struct {
	task  int
	notes bool
	opts  harness.Options
}

func parseLockArgs(t *testing.T, d *datadriven.TestData, p *kernelsim.Program) lockArgs {
	a := lockArgs{}
	for _, arg := range d.CmdArgs {
		if arg.Key == "plan" {
			pl, err := sched.ParsePlan(strings.Join(arg.Vals, " "))
			if err != nil {
				d.Fatalf(t, "plan=%v: %v", arg.Vals, err)
			}
			a.opts.Strategy = pl
			continue
		}
		val := arg.SingleVal(t)
		switch arg.Key {
		case "task":
			n, err := strconv.Atoi(strings.TrimPrefix(val, "t"))
			if err != nil || !strings.HasPrefix(val, "t") || n < 1 || n > len(p.Tasks) {
				d.Fatalf(t, "task=%q: want t1..t%d", val, len(p.Tasks))
			}
			a.task = n - 1
		case "schedule":
			if _, err := sched.ParseSchedule(val); err != nil {
				d.Fatalf(t, "schedule=%q: %v", val, err)
			}
			p.Schedule = val // harness.Run replays it when no strategy is set
		case "seed":
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				d.Fatalf(t, "seed=%q: %v", val, err)
			}
			a.opts.Strategy = sched.NewRandom(n)
		case "rules":
			if val != "off" && val != "on" {
				d.Fatalf(t, "rules=%q: want off or on", val)
			}
			a.opts.SemanticOnly = val == "off"
		case "notes":
			if val != "off" && val != "on" {
				d.Fatalf(t, "notes=%q: want off or on", val)
			}
			a.notes = val == "on"
		default:
			d.Fatalf(t, "unknown argument %q", arg.Key)
		}
	}
	if a.opts.Strategy != nil && p.Schedule != "" {
		d.Fatalf(t, "give one of schedule=, seed= and plan=")
	}
	return a
}

func runLocks(t *testing.T, d *datadriven.TestData) string {
	p, err := kernelsim.Parse(d.Pos, d.Input)
	if err != nil {
		d.Fatalf(t, "%v", err)
	}
	if len(p.Tasks) == 0 {
		d.Fatalf(t, "the program has no tasks: nothing runs in the concurrent phase")
	}
	a := parseLockArgs(t, d, p)
	rep := harness.Run(p, a.opts)
	run, err := runPhase(p, rep)
	if err != nil {
		d.Fatalf(t, "%v", err)
	}
	var b strings.Builder
	summary := strings.Split(strings.TrimRight(rep.Summary(), "\n"), "\n")
	b.WriteString(summary[0])
	b.WriteByte('\n')
	for _, e := range rep.Errors {
		fmt.Fprintf(&b, "refused: %s\n", e)
	}
	for _, l := range lockLines(run, a.task, a.notes) {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "steps: %d\n", rep.Steps)
	return b.String()
}

// lockKinds are the events printed: every lock operation.
var lockKinds = map[sched.Kind]bool{
	sched.KindAcquire: true,
	sched.KindGranted: true,
	sched.KindTrylock: true,
	sched.KindRelease: true,
	sched.KindBlock:   true,
}

// lockLines formats task's lock operations, KIND OBJECT [DETAIL] @SITE,
// and its TLB flushes, "flush MM [START,END) @SITE", where they fall
// between them: a flush's place relative to the page-table locks' release
// is what the kernel's TLB rules are about (flush before the PTL drops in
// move_ptes, eb66ae030829; before the pages are freed in tlb_finish_mmu).
func lockLines(evs []sched.Event, task int, notes bool) []string {
	var out []string
	for _, e := range evs {
		if e.Task != task {
			continue
		}
		if f, ok := flushLine(e); ok {
			out = append(out, f)
			continue
		}
		if notes && e.Kind == sched.KindNote {
			out = append(out, strings.TrimSpace("note "+e.Obj+" "+e.Detail)+" @"+e.Site)
			continue
		}
		if notes && e.Kind == sched.KindChoice {
			out = append(out, "choice "+e.Obj+": "+e.Detail)
			continue
		}
		if !lockKinds[e.Kind] {
			continue
		}
		out = append(out, taskLines([]sched.Event{e}, task, e.Kind)...)
	}
	return out
}

// flushLine formats a TLB flush event (kernelsim's flushTLBRange).
func flushLine(e sched.Event) (string, bool) {
	mm, ok := strings.CutSuffix(e.ObjText(), " tlb")
	if !ok || e.Kind != sched.KindWrite {
		return "", false
	}
	what := e.DetailText()
	if r, ok := strings.CutPrefix(what, "flush_tlb_range "); ok {
		what = r
	}
	return "flush " + mm + " " + what + " @" + e.Site, true
}

// runPhase returns the events of the concurrent phase: Report.RunTrace, the
// trace of the tN tasks' sched run alone (Report.Trace also holds the setup
// and exit_mmap runs, whose single task is numbered like t1). The selection
// is cross-checked against the program (one Start per task) and, for a run
// that completed, against Report.Steps, so that a change in how the harness
// records phases fails loudly instead of printing another phase's locks.
func runPhase(p *kernelsim.Program, rep *harness.Report) ([]sched.Event, error) {
	if rep.Phase == "setup" {
		return nil, nil // the setup failed: the concurrent phase never ran
	}
	run := rep.RunTrace.Events
	if rep.Phase == "run" {
		return run, nil // ended early by its verdict: no completeness to check
	}
	starts := 0
	for _, e := range run {
		if e.Kind == sched.KindStart {
			starts++
		}
	}
	if starts != len(p.Tasks) {
		return nil, fmt.Errorf("runPhase: the concurrent phase has %d task starts, the program %d tasks", starts, len(p.Tasks))
	}
	if last := run[len(run)-1]; last.Kind != sched.KindExit || last.Step+1 != rep.Steps {
		return nil, fmt.Errorf("runPhase: the concurrent phase ends with %v, Report.Steps is %d", last, rep.Steps)
	}
	return run, nil
}

var findSchedules = flag.Bool("find-schedules", false, "TestFindLockSchedules: search and log the replay strings of the two-task cases")

// scheduleSearch is a two-task case whose interesting interleaving is
// searched for once and then pinned with schedule= in testdata/locks.
type scheduleSearch struct {
	name string
	prog string
	task int                 // whose lock lines want sees
	want func([]string) bool // the interleaving sought
}

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

var scheduleSearches = []scheduleSearch{
	{
		name: "fault_mmap_lock: VMA write-locked by mprotect",
		prog: `
mm mm1
setup: mmap mm1 0x10+8 anon rw
setup: fault mm1 0x10 write
t1: fault mm1 0x11 write
t2: mprotect mm1 0x14+4 r
`,
		want: func(l []string) bool {
			return hasLine(l, "vma read failed: write-locked @lock_vma_under_rcu") &&
				hasLine(l, "trylock mmap_lock(mm1) read failed @lock_mm_and_find_vma") &&
				hasLine(l, "block mmap_lock(mm1)")
		},
	},
	{
		name: "fault_mmap_lock: vmf_anon_prepare trylock fails against mmap",
		prog: `
mm mm1
setup: mmap mm1 0x10+8 anon rw
t1: fault mm1 0x10 write
t2: mmap mm1 0x40+4 anon rw
`,
		want: func(l []string) bool {
			return hasLine(l, "vma read ok @lock_vma_under_rcu") &&
				hasLine(l, "trylock mmap_lock(mm1) read failed @vmf_anon_prepare") &&
				hasLine(l, "@lock_mm_and_find_vma")
		},
	},
}

// TestFindLockSchedules searches, for each case of scheduleSearches, a
// schedule that produces the wanted interleaving and logs its replay string.
// It first tries the shortest family of schedules (t2 runs for k decisions,
// then t1), then seeded random schedules. Run it with
//
//	go test ./kernelsim -run TestFindLockSchedules -find-schedules -v
func TestFindLockSchedules(t *testing.T) {
	if !*findSchedules {
		t.Skip("pass -find-schedules to search")
	}
	for _, c := range scheduleSearches {
		t.Run(c.name, func(t *testing.T) {
			p, err := kernelsim.Parse(c.name, c.prog)
			if err != nil {
				t.Fatal(err)
			}
			try := func(opts harness.Options, q *kernelsim.Program) (string, bool) {
				rep := harness.Run(q, opts)
				if !rep.OK() {
					return "", false
				}
				run, err := runPhase(q, rep)
				if err != nil {
					t.Fatal(err)
				}
				return rep.Schedule, c.want(lockLines(run, c.task, false))
			}
			for k := 0; k < 200; k++ {
				var s sched.Schedule
				for i := 0; i < k; i++ {
					s = append(s, sched.Decision{Value: 1})
				}
				s = append(s, sched.Decision{Value: 0})
				q := *p
				q.Schedule = s.String()
				if got, ok := try(harness.Options{}, &q); ok {
					t.Logf("t2 for %d decisions, then t1: schedule=%s (recorded %s)", k, q.Schedule, got)
					return
				}
			}
			for seed := uint64(1); seed <= 2000; seed++ {
				if got, ok := try(harness.Options{Strategy: sched.NewRandom(seed)}, p); ok {
					t.Logf("seed=%d: schedule=%s", seed, got)
					return
				}
			}
			t.Errorf("no schedule found")
		})
	}
}
