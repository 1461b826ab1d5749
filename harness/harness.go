// Package harness runs a kernelsim program end to end: the setup ops one
// after the other, the tasks concurrently under a scheduling strategy, the
// quiescent invariants, exit_mmap of every mm, and the leak checks. The
// same runner serves go test, the corpus, fuzzing and cmd/mmrace.
package harness

import (
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

	"mmrace/invariants"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// Options configure a run.
type Options struct {
	// Strategy decides the concurrent phase. nil: the program's pinned
	// schedule if it has one (followed leniently, so that one pinned
	// schedule serves the faithful kernel and a variant), else the
	// non-preemptive fallback.
	Strategy     sched.Strategy
	Mode         sched.Mode
	SemanticOnly bool
	Lockdep      *ksync.Lockdep
	MaxSteps     int
	// Seed and YieldOneIn drive free mode's random yields (and data choices).
	Seed       uint64
	YieldOneIn int
	// Want makes Search skip failures whose invariant and detail do not
	// contain it.
	Want string
	// OnRun, when not nil, is called by Search after every run with the
	// strategy it ran under and its report.
	OnRun func(st sched.Strategy, rep *Report)
	// Mutant mutates one lock acquisition site of the model (mmrace
	// locks) during the concurrent phase; setup, checks and exit run
	// unmutated: they are single-threaded, so a mutation there could have
	// no concurrent consequence.
	Mutant *ksync.Mutant
	// Pool lends the runs their task goroutines (sched.Pool); nil starts
	// fresh ones. A loop of runs on one goroutine keeps one Pool (Search
	// makes its own).
	Pool *sched.Pool
	// Reuse is a report of an earlier run that the caller is done with:
	// the run records its trace into that report's trace memory (its
	// events and the typed parts of their texts, sched.Trace.Reset), and
	// its kernel's memory log and registries into that report's kernel's
	// arrays (kernelsim.Kernel.Recycle), instead of allocating its own;
	// neither Reuse, nor its kernel, nor an Event copied out of its traces
	// may be read afterwards. A loop
	// that keeps no report but the last one passes the previous one
	// (Search and stress do).
	Reuse *Report
}

// Report is the result of one run.
type Report struct {
	Program  *kernelsim.Program
	Verdict  sched.Verdict // the first finding, or OK
	Phase    string        // setup, run, quiescent, exit or memory: where the verdict came from
	Trace    sched.Trace   // setup, run and exit events
	RunTrace sched.Trace   // the concurrent phase's events only
	Schedule string        // the replay string of the concurrent phase
	Steps    int
	Errors   []string // ops the kernel refused (EINVAL, SIGSEGV), in order
	Kernel   *kernelsim.Kernel
	Layout   []MMLayout // the VMAs of every mm when the concurrent phase ended
	// Observed counts, for a run under variants (controlled mode), the
	// evaluations of each invariant made after a variant's branch had run:
	// the checks that looked at the state the change could have affected
	// (mmrace check). Nil for the faithful kernel.
	Observed map[string]int
}

// QuiescentInvariants are the checks run once the concurrent phase ended,
// and EndInvariants the ones after exit.
var (
	QuiescentInvariants = []string{"page-table-lifetime", "vma-tree", "anon-vma-hierarchy", "rmap-complete", "mapcount-rss", "pte-prot-within-vma", "memory-contents"}
	EndInvariants       = []string{"leak"}
)

// observe makes the dynamic and inline checks of a run under variants
// count, in rep.Observed, the evaluations made after a variant's branch
// ran.
func observe(k *kernelsim.Kernel, rep *Report) {
	rep.Observed = map[string]int{}
	after := func(inv string) {
		if k.Variants.Total() > 0 {
			rep.Observed[inv]++
		}
	}
	walk, done := k.Hooks.WalkDone, k.Hooks.MigrationDone
	k.Hooks.WalkDone = func(t *sched.Task, w *kernelsim.Walk) {
		if w.Target != nil && !w.Aborted {
			after("rmap-walk-coverage")
		}
		walk(t, w)
	}
	k.Hooks.MigrationDone = func(t *sched.Task, src *kernelsim.Folio) {
		after("no-straggling-migration-entry")
		done(t, src)
	}
	k.Hooks.Checked = after
}

// observeAll counts invs as evaluated once (after a variant's branch ran).
func observeAll(k *kernelsim.Kernel, rep *Report, invs []string) {
	if rep.Observed != nil && k.Variants.Total() > 0 {
		for _, inv := range invs {
			rep.Observed[inv]++
		}
	}
}

// MMLayout is one mm's VMAs at a point of the run.
type MMLayout struct {
	MM   string
	VMAs []VMALayout
}

// VMALayout is one VMA of an MMLayout.
type VMALayout struct {
	Name              string
	Start, End, Pgoff int
}

func layoutOf(k *kernelsim.Kernel) []MMLayout {
	var out []MMLayout
	for _, m := range k.MMs() {
		l := MMLayout{MM: m.Name()}
		for _, v := range m.VMAs() {
			l.VMAs = append(l.VMAs, VMALayout{Name: v.Name(), Start: v.Start(), End: v.End(), Pgoff: v.Pgoff()})
		}
		out = append(out, l)
	}
	return out
}

// OK reports whether the run ended with every task returning and every
// check passing.
func (r *Report) OK() bool { return r.Verdict.Outcome == sched.OK }

// Finding reports whether the run found something about the simulated
// kernel: a violation or a deadlock (sched.Verdict.Finding).
func (r *Report) Finding() bool { return r.Verdict.Finding() }

// InternalError reports whether the harness itself failed. It is never a
// finding, and callers print it loudly.
func (r *Report) InternalError() bool { return r.Verdict.InternalError() }

// HarnessLimit reports whether the run hit the step limit or the watchdog.
func (r *Report) HarnessLimit() bool { return r.Verdict.HarnessLimit() }

// beforeChecks, when set (by a test of this package), runs before the
// quiescent invariants: a way to make the post-run checks fail.
var beforeChecks func(*kernelsim.Kernel)

// Run runs p once.
func Run(p *kernelsim.Program, opts Options) (rep *Report) {
	// Every phase of a controlled run is controlled: the kernel leaves out
	// the mutexes only free mode needs (ksync.Mu).
	k := kernelsim.New(ksync.Config{SemanticOnly: opts.SemanticOnly, Lockdep: opts.Lockdep, Controlled: opts.Mode == sched.Controlled}, p.Variants)
	if opts.Reuse != nil {
		k.Recycle(opts.Reuse.Kernel) // its memory log's and registries' arrays
		opts.Reuse.Kernel = nil
	}
	kernelsim.Build(p, k)
	// Scheduling points inside the interval trees matter only when a reader
	// may go without the tree's lock: see kernelsim/treestep.go.
	k.TreeSteps = p.Variants.UnlockedTrees() || (opts.Mutant != nil &&
		(opts.Mutant.Class == ksync.ClassAnonVMA.Name || opts.Mutant.Class == ksync.ClassIMmapRwsem.Name))
	if opts.Mode == sched.Controlled {
		// The dynamic checks compare global snapshots and the memory log's
		// order with what happened; only a controlled run, where one task
		// moves at a time, makes those well defined.
		invariants.Install(k)
	}
	// Every phase records into rep.Trace, one after the other.
	rep = &Report{Program: p, Kernel: k}
	// The checks after the run (the quiescent invariants, the memory log,
	// the exit phase's) run on this goroutine, outside any task, so the
	// scheduler's recovery does not cover them: a panic there is the
	// harness's own failure, reported as an internal error of this run,
	// never a finding, and never the end of the caller's search.
	defer func() {
		if r := recover(); r != nil {
			rep.Verdict = sched.Verdict{Outcome: sched.Internal, Violation: sched.Violation{Invariant: sched.InvInternal, Task: -1,
				Detail: sched.InternalPrefix + fmt.Sprintf("panic in the harness's checks: %v\n%s", r, debug.Stack())}}
			rep.Phase = "checks"
		}
	}()
	if opts.Mode == sched.Controlled && len(p.Variants) > 0 {
		observe(k, rep)
	}
	if opts.Reuse != nil && cap(opts.Reuse.Trace.Events) > 0 {
		rep.Trace = opts.Reuse.Trace
		rep.Trace.Reset()
		opts.Reuse.Trace, opts.Reuse.RunTrace = sched.Trace{}, sched.Trace{} // both views of the memory now reused
	} else {
		rep.Trace.Events = make([]sched.Event, 0, 256)
	}
	record := func(res sched.Result, phase string) bool {
		if res.Verdict.Outcome != sched.OK {
			rep.Verdict, rep.Phase = res.Verdict, phase
			return false
		}
		return true
	}
	var errMu sync.Mutex // free mode: tasks record refusals concurrently
	note := func(t *sched.Task, err error) {
		if err == nil {
			return
		}
		t.Record(sched.KindNote, "", "", err.Error())
		errMu.Lock()
		rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", t.Name(), err))
		errMu.Unlock()
	}
	// Setup: one task, no preemption, no data choices. A setup op the
	// kernel refuses makes the program invalid (as a selftest whose setup
	// fails): reported with its line, never run further.
	if len(p.Setup) > 0 {
		var refused *sched.Verdict
		s := sched.New(sched.Options{Strategy: sched.NewBytes(nil), MaxSteps: opts.MaxSteps, Trace: &rep.Trace, Pool: opts.Pool})
		s.Spawn(func(t *sched.Task) {
			for i := range p.Setup {
				o := &p.Setup[i]
				if err := k.Exec(t, o); err != nil {
					refused = &sched.Verdict{Outcome: sched.Invalid, Violation: sched.Violation{Invariant: "setup-refused", Task: -1, Step: t.Step(),
						Detail: fmt.Sprintf("line %d: setup: %s: the kernel refuses it: %v", o.Line, o, err)}}
					return
				}
			}
		})
		if !record(s.Run(), "setup") {
			return rep
		}
		if refused != nil {
			rep.Verdict, rep.Phase = *refused, "setup"
			return rep
		}
	}
	// The concurrent phase.
	strat := opts.Strategy
	if strat == nil {
		strat = sched.NewBytes(nil)
		if p.Schedule != "" {
			sch, err := sched.ParseSchedule(p.Schedule)
			if err != nil {
				rep.Verdict = sched.Verdict{Outcome: sched.Internal, Violation: sched.Violation{Invariant: sched.InvInternal, Task: -1, Detail: sched.InternalPrefix + "program schedule: " + err.Error()}}
				rep.Phase = "run"
				return rep
			}
			strat = sched.NewLenientReplay(sch)
		}
	}
	s := sched.New(sched.Options{Mode: opts.Mode, Strategy: strat, MaxSteps: opts.MaxSteps, Seed: opts.Seed, YieldOneIn: opts.YieldOneIn,
		Trace: &rep.Trace, Pool: opts.Pool})
	stores := make([]int, len(p.Tasks))
	for i, ops := range p.Tasks {
		for _, o := range ops {
			if o.Verb == kernelsim.OpStore {
				stores[i]++
			}
		}
	}
	k.PlanStores(stores)
	for _, ops := range p.Tasks {
		s.Spawn(func(t *sched.Task) {
			for i := range ops {
				note(t, k.Exec(t, &ops[i]))
			}
			k.Env.AssertNoneHeld(t, "return to user space")
		})
	}
	k.EnterPhase()
	k.Env.SetMutant(opts.Mutant)
	res := s.Run()
	k.Env.SetMutant(nil)
	rep.Schedule, rep.Steps = res.ReplayString(), res.Steps
	rep.RunTrace = res.Trace
	rep.Layout = layoutOf(k)
	if !record(res, "run") {
		return rep
	}
	observeAll(k, rep, QuiescentInvariants)
	if beforeChecks != nil {
		beforeChecks(k)
	}
	if v := invariants.Quiescent(k); len(v) > 0 {
		rep.Verdict, rep.Phase = sched.Verdict{Outcome: sched.Failed, Violation: v[0]}, "quiescent"
		return rep
	}
	if v := invariants.MemoryContents(k); len(v) > 0 && opts.Mode == sched.Controlled {
		rep.Verdict, rep.Phase = sched.Verdict{Outcome: sched.Failed, Violation: v[0]}, "memory"
		return rep
	}
	if len(p.Checks) > 0 {
		var failed *sched.Violation
		k.EnterPhase()
		cs := sched.New(sched.Options{Strategy: sched.NewBytes(nil), MaxSteps: opts.MaxSteps, Trace: &rep.Trace, Pool: opts.Pool})
		cs.Spawn(func(t *sched.Task) { failed = runChecks(t, k, p.Checks) })
		if !record(cs.Run(), "check") {
			return rep
		}
		if failed != nil {
			rep.Verdict, rep.Phase = sched.Verdict{Outcome: sched.Failed, Violation: *failed}, "check"
			return rep
		}
	}
	// The exit of every process still alive (exit_mmap), then the leak
	// checks.
	k.EnterPhase()
	ex := sched.New(sched.Options{Strategy: sched.NewBytes(nil), Trace: &rep.Trace, Pool: opts.Pool})
	ex.Spawn(func(t *sched.Task) {
		for _, m := range k.MMs() {
			k.ExitProcess(t, m)
		}
		k.DrainSwapCache(t)
	})
	if !record(ex.Run(), "exit") {
		return rep
	}
	observeAll(k, rep, EndInvariants)
	if v := invariants.Leaks(k); len(v) > 0 {
		rep.Verdict, rep.Phase = sched.Verdict{Outcome: sched.Failed, Violation: v[0]}, "exit"
	}
	return rep
}

// Summary is a short, stable text of the result for corpus files.
func (r *Report) Summary() string {
	var b strings.Builder
	switch {
	case r.Verdict.Outcome == sched.OK:
		fmt.Fprintf(&b, "ok: %d steps\n", r.Steps)
	case r.InternalError():
		fmt.Fprintf(&b, "MMRACE INTERNAL ERROR in %s (the harness failed; not a finding about the kernel)\n", r.Phase)
		fmt.Fprintf(&b, "  %s\n", r.Verdict.Violation.Detail)
	default:
		fmt.Fprintf(&b, "%s in %s: %s\n", r.Verdict.Outcome, r.Phase, r.Verdict.Violation.Invariant)
		fmt.Fprintf(&b, "  %s\n", r.Verdict.Violation.Detail)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "refused: %s\n", e)
	}
	return b.String()
}

// Search runs p under strategies from mk(0), mk(1), ... until a run finds
// something (matching opts.Want), the harness fails (an internal error ends
// the search at once: it is never passed over), or runs runs have passed. It
// returns that report (or the last one) and the number of runs made. Without
// opts.Pool the runs share a pool of their own.
func Search(p *kernelsim.Program, opts Options, mk func(i int) sched.Strategy, runs int) (*Report, int) {
	if opts.Pool == nil {
		opts.Pool = sched.NewPool()
		defer opts.Pool.Close()
	}
	var rep *Report
	for i := 0; i < runs; i++ {
		opts.Strategy, opts.Reuse = mk(i), rep // the last report is dropped: reuse its memory
		rep = Run(p, opts)
		if opts.OnRun != nil {
			opts.OnRun(opts.Strategy, rep)
		}
		if rep.InternalError() {
			return rep, i + 1
		}
		if rep.Finding() && (opts.Want == "" || strings.Contains(rep.Verdict.Violation.Invariant+": "+rep.Verdict.Violation.Detail, opts.Want)) {
			return rep, i + 1
		}
	}
	return rep, runs
}

// Story formats the concurrent phase's events that matter to a reader, one
// per line with its step number, the last max of them: ops, writes of
// shared state, rmap-walk visits and what they found, user loads and
// stores (what each returned or wrote, through which page, from the TLB or
// a walk), notes and choices, and, when the verdict is about locks, the
// lock operations.
func (r *Report) Story(max int) string {
	inv := r.Verdict.Violation.Invariant
	locks := r.Verdict.Outcome == sched.Deadlock || strings.HasPrefix(inv, "lock")
	var lines []string
	for _, e := range r.RunTrace.Events {
		switch e.Kind {
		case sched.KindStart, sched.KindExit, sched.KindRCU, sched.KindRead:
			continue
		case sched.KindAccess:
			if !userAccess(e) {
				continue // issued, restarted, faulted: the retirement says what it did
			}
		case sched.KindAcquire, sched.KindGranted, sched.KindTrylock, sched.KindRelease, sched.KindBlock:
			if !locks {
				continue // lock traffic matters to lock verdicts only
			}
		case sched.KindWalk:
			if !strings.HasPrefix(e.DetailText(), "looks at") {
				continue // the step between VMAs; the visit says more
			}
		}
		lines = append(lines, e.String())
	}
	skipped := 0
	if len(lines) > max {
		skipped = len(lines) - max
		lines = lines[skipped:]
	}
	var b strings.Builder
	if skipped > 0 {
		fmt.Fprintf(&b, "(%d earlier events)\n", skipped)
	}
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
