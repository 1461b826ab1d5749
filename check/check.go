// Package check is mmrace check: one change of the kernel (a variant set),
// searched thoroughly, with an honest verdict. Either the search finds
// counterexamples — it keeps going after the first, to show the distinct
// ways the change breaks (by invariant and by the ops that raced with the
// failing task), each minimized and written as a scenario — or it reports
// "no violation in N executions" together with what that is worth: how
// often the variant's branch ran (a change whose branch never ran is "not
// exercised", never safe), which invariants looked at the state after it
// ran, the reach cells of the kernel paths it changes, and, for given
// programs, PCT's per-program confidence. A search over generated programs
// states what it covered, never a probability.
package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"mmrace/harness"
	"mmrace/hunt"
	"mmrace/internal/atomicfile"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/minimize"
	"mmrace/reach"
)

// Options configure a check.
type Options struct {
	Variants     kernelsim.Variants // the change; must not be empty
	SemanticOnly bool               // rule checks off: only consequences count
	// Runs and Budget bound the search over generated programs (hunt's
	// search), or each given program's runs (Programs).
	Runs   int
	Budget time.Duration
	Seed   uint64
	// Programs, when given, are searched each under PCT of depth Depth
	// (Runs runs each) instead of generated programs.
	Programs []NamedProgram
	Depth    int
	// MaxCounterexamples bounds the distinct counterexamples minimized and
	// reported (default 10): the search collects every distinct one for
	// its whole budget and keeps those with the fewest racing ops first
	// (the plainest races), then the earliest found. MinimizeBudget is
	// spent on each (default 5s).
	MaxCounterexamples int
	MinimizeBudget     time.Duration
	OutDir             string // where the counterexamples' scenarios go ("" writes none)
	Context            context.Context
	Progress           func(string)
}

// NamedProgram is a given program and the name it is reported by.
type NamedProgram struct {
	Name    string
	Program *kernelsim.Program
}

// Verdicts of a check.
const (
	Found        = "counterexample"
	NoViolation  = "no violation"
	NotExercised = "not exercised"
)

// Result is a check's outcome.
type Result struct {
	Variants     string  `json:"variants"`
	SemanticOnly bool    `json:"semantic_only"`
	Verdict      string  `json:"verdict"`
	Executions   int     `json:"executions"`
	Programs     int     `json:"programs"`      // distinct programs run
	MaxSchedules int     `json:"max_schedules"` // most runs of one program
	Seconds      float64 `json:"seconds"`
	// Counterexamples are the distinct failures reported (at most
	// Options.MaxCounterexamples, the plainest races first); Distinct
	// counts every distinct one the search met.
	Counterexamples []Counterexample `json:"counterexamples,omitempty"`
	Distinct        int              `json:"distinct"`
	// Branches says how often each variant's branch ran.
	Branches []BranchCount `json:"branches"`
	// Observed are the invariants evaluated after a variant's branch ran,
	// with how often; AlwaysOn the checks that run at every access.
	Observed []InvariantCount `json:"observed"`
	AlwaysOn []string         `json:"always_on"`
	// Reach are the reach cells of the paths the variants change.
	Reach []reach.CellCount `json:"reach"`
	// PerProgram is PCT's confidence for each given program.
	PerProgram     []ProgramConfidence `json:"per_program,omitempty"`
	HarnessLimits  int                 `json:"harness_limits,omitempty"`
	InternalErrors int                 `json:"internal_errors,omitempty"`
	FirstInternal  string              `json:"first_internal_error,omitempty"`
	Interrupted    bool                `json:"interrupted,omitempty"`
}

// Counterexample is one distinct failure.
type Counterexample struct {
	Invariant  string   `json:"invariant"`
	Racing     []string `json:"racing"` // the other tasks' ops in progress when it broke
	Executions int      `json:"found_after"`
	Detail     string   `json:"detail"`
	Ops        int      `json:"minimized_ops"`
	Program    string   `json:"program"` // minimized, schedule pinned
	Narrative  string   `json:"narrative"`
	Scenario   string   `json:"scenario,omitempty"`
	Replay     string   `json:"replay"`
	rep        *harness.Report
	prog       *kernelsim.Program
}

// Signature is what makes counterexamples distinct: the ops that raced
// with the failing task (two failures of one race through different
// invariants are one counterexample).
func (c *Counterexample) Signature() string {
	if len(c.Racing) == 0 {
		return "(alone)"
	}
	return strings.Join(c.Racing, ", ")
}

// BranchCount is how often one variant's branch ran.
type BranchCount struct {
	Variant string `json:"variant"`
	Hits    int64  `json:"hits"`
	Runs    int    `json:"runs"`
}

// InvariantCount is how often an invariant was evaluated after a variant's
// branch ran, and in how many runs.
type InvariantCount struct {
	Invariant   string `json:"invariant"`
	Evaluations int    `json:"evaluations"`
	Runs        int    `json:"runs"`
}

// ProgramConfidence is what the PCT runs of one given program support.
type ProgramConfidence struct {
	Name       string    `json:"name"`
	Runs       int       `json:"runs"`
	Tasks      int       `json:"tasks"`
	K          int       `json:"k"`
	Depth      int       `json:"depth"`
	Confidence []float64 `json:"confidence_by_depth"` // index d-1
	Covered    []int     `json:"covered_runs_by_depth"`
	Failed     bool      `json:"failed"`
	DataChoice bool      `json:"data_choices"`
}

// alwaysOn are the checks the model makes at every access or step, not
// counted per evaluation.
var alwaysOn = []string{"use-after-free", "bug-on", "kernel-oops", "deadlock", "livelock"}

// tally is the state of a check while it runs.
type tally struct {
	o        Options
	res      *Result
	observed map[string]*InvariantCount
	branches map[string]*BranchCount
	programs map[string]int
	matrix   *reach.Matrix
	seen     map[string]bool
}

func (t *tally) afterRun(rep *harness.Report) {
	t.res.Executions++
	t.programs[rep.Program.String()]++
	t.matrix.Add(&rep.RunTrace)
	for inv, n := range rep.Observed {
		c := t.observed[inv]
		if c == nil {
			c = &InvariantCount{Invariant: inv}
			t.observed[inv] = c
		}
		c.Evaluations += n
		c.Runs++
	}
	if rep.Kernel != nil {
		for v, h := range rep.Kernel.Variants.Hits() {
			b := t.branches[v]
			b.Hits += h
			if h > 0 {
				b.Runs++
			}
		}
	}
	switch {
	case rep.InternalError():
		t.res.InternalErrors++
		if t.res.FirstInternal == "" {
			t.res.FirstInternal = rep.Summary() + rep.Program.String() + "schedule " + rep.Schedule
		}
	case rep.HarnessLimit():
		t.res.HarnessLimits++
	}
}

// onFinding keeps a failing run when its signature is new; it reports
// whether the search should go on.
func (t *tally) onFinding(p *kernelsim.Program, rep *harness.Report) bool {
	c := Counterexample{Invariant: rep.Verdict.Violation.Invariant, Racing: Racing(rep), Executions: t.res.Executions,
		Detail: rep.Verdict.Violation.Detail, rep: rep, prog: p}
	if !t.seen[c.Signature()] {
		t.seen[c.Signature()] = true
		t.res.Counterexamples = append(t.res.Counterexamples, c)
		if t.o.Progress != nil {
			t.o.Progress(fmt.Sprintf("counterexample %d after %d executions: %s, racing %s", len(t.res.Counterexamples), t.res.Executions, c.Invariant, c.Signature()))
		}
	}
	return true
}

// Run checks the change.
func Run(o Options) (*Result, error) {
	if len(o.Variants) == 0 {
		return nil, fmt.Errorf("check: no variant given (the faithful kernel is what hunt and stress check)")
	}
	if o.Runs <= 0 && o.Budget <= 0 {
		return nil, fmt.Errorf("check: no budget")
	}
	if o.MaxCounterexamples <= 0 {
		o.MaxCounterexamples = 10
	}
	if o.MinimizeBudget <= 0 {
		o.MinimizeBudget = 5 * time.Second
	}
	if o.Depth <= 0 {
		o.Depth = 3
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	t := &tally{o: o, res: &Result{Variants: o.Variants.String(), SemanticOnly: o.SemanticOnly, AlwaysOn: alwaysOn},
		observed: map[string]*InvariantCount{}, branches: map[string]*BranchCount{}, programs: map[string]int{},
		matrix: reach.New(), seen: map[string]bool{}}
	for _, v := range o.Variants.Names() {
		t.branches[v] = &BranchCount{Variant: v}
	}
	if len(o.Programs) == 0 {
		sr := hunt.Search(ctx, hunt.SearchOptions{Variants: o.Variants, SemanticOnly: o.SemanticOnly, Budget: o.Budget, Runs: o.Runs, Seed: o.Seed,
			AfterRun: t.afterRun, OnFinding: t.onFinding})
		t.res.Interrupted = sr.Interrupted
	} else {
		t.programsRun(ctx)
	}
	t.res.Seconds = time.Since(start).Seconds()
	t.res.Programs = len(t.programs)
	for _, n := range t.programs {
		t.res.MaxSchedules = max(t.res.MaxSchedules, n)
	}
	for _, v := range o.Variants.Names() {
		t.res.Branches = append(t.res.Branches, *t.branches[v])
	}
	for _, c := range t.observed {
		t.res.Observed = append(t.res.Observed, *c)
	}
	sort.Slice(t.res.Observed, func(i, j int) bool { return t.res.Observed[i].Invariant < t.res.Observed[j].Invariant })
	var paths []string
	for _, v := range o.Variants.Names() {
		if d, ok := kernelsim.LookupVariant(v); ok {
			paths = append(paths, d.Paths...)
		}
	}
	t.res.Reach = t.matrix.Involving(paths)
	exercised := false
	for _, b := range t.res.Branches {
		exercised = exercised || b.Hits > 0
	}
	switch {
	case len(t.res.Counterexamples) > 0:
		t.res.Verdict = Found
	case !exercised:
		t.res.Verdict = NotExercised
	default:
		t.res.Verdict = NoViolation
	}
	t.res.Distinct = len(t.res.Counterexamples)
	t.res.Counterexamples = pick(t.res.Counterexamples, o.MaxCounterexamples)
	for i := range t.res.Counterexamples {
		if err := t.minimize(ctx, &t.res.Counterexamples[i], i+1); err != nil {
			return nil, err
		}
	}
	return t.res, nil
}

// programsRun runs each given program under PCT, Runs times (or until the
// budget), stopping a program at its first failure.
func (t *tally) programsRun(ctx context.Context) {
	o := t.o
	start := time.Now()
	for _, np := range o.Programs {
		p := *np.Program
		p.Variants = o.Variants
		base := harness.Options{SemanticOnly: o.SemanticOnly}
		k := harness.Run(&p, base).Steps*5/4 + 10
		runs := sched.PCTRuns{Tasks: len(p.Tasks)}
		pc := ProgramConfidence{Name: np.Name, Tasks: len(p.Tasks), K: k, Depth: o.Depth, DataChoice: p.InjectAllocFailures}
		for i := 0; (o.Runs <= 0 || i < o.Runs) && (o.Budget <= 0 || time.Since(start) < o.Budget); i++ {
			if ctx.Err() != nil {
				t.res.Interrupted = true
				return
			}
			ho := base
			ho.Strategy = sched.NewPCT(o.Seed+uint64(i), o.Depth, k)
			ho.MaxSteps = 20_000
			rep := harness.Run(&p, ho)
			t.afterRun(rep)
			runs.Add(o.Depth, k, rep.Steps)
			pc.Runs++
			if rep.Finding() {
				pc.Failed = true
				t.onFinding(&p, rep)
				break
			}
		}
		for d := 1; d <= o.Depth; d++ {
			pc.Covered = append(pc.Covered, runs.Covered(d))
			pc.Confidence = append(pc.Confidence, runs.Confidence(d))
		}
		t.res.PerProgram = append(t.res.PerProgram, pc)
	}
}

// pick chooses at most n counterexamples to report: the plainest race of
// each distinct set of racing verbs first (fewest racing ops, then the
// earliest found), so that every kind of op the change breaks against is
// shown; then the others in the same order.
func pick(ces []Counterexample, n int) []Counterexample {
	order := slices.Clone(ces)
	sort.SliceStable(order, func(i, j int) bool { return len(order[i].Racing) < len(order[j].Racing) })
	verbs := func(c Counterexample) string {
		var vs []string
		for _, r := range c.Racing {
			v, _, _ := strings.Cut(r, " (")
			if !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
		return strings.Join(vs, ",")
	}
	var out, rest []Counterexample
	seen := map[string]bool{}
	for _, c := range order {
		if k := verbs(c); !seen[k] {
			seen[k] = true
			out = append(out, c)
		} else {
			rest = append(rest, c)
		}
	}
	out = append(out, rest...)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Racing returns the ops of the other tasks that ran while the failing
// task was in the op that failed (from that op's start to the failure; for
// a violation found at rest, from the start of the task's last op),
// each as its verb with what it did of note meanwhile (it split a VMA,
// merged, ran exit_mmap), sorted. When some of them change the address
// space (mmap, munmap, mprotect, mremap, madvise, fork, exit, exec), only
// those are named: they are what the failing task raced with.
func Racing(rep *harness.Report) []string {
	v := rep.Verdict.Violation
	type op struct {
		task       int
		verb       string
		start, end int
		notes      []string
	}
	var ops []*op
	cur := map[int]*op{}
	end := func(task, step int) {
		if o := cur[task]; o != nil {
			o.end = step
			delete(cur, task)
		}
	}
	for _, e := range rep.RunTrace.Events {
		if v.Step >= 0 && e.Step > v.Step { // a quiescent check's step is -1: every event counts
			break
		}
		switch e.Kind {
		case sched.KindOp:
			end(e.Task, e.Step)
			o := &op{task: e.Task, verb: e.Site, start: e.Step, end: -1}
			ops = append(ops, o)
			cur[e.Task] = o
		case sched.KindExit:
			end(e.Task, e.Step)
		default:
			o := cur[e.Task]
			if o == nil {
				continue
			}
			note := ""
			switch {
			case e.Site == "__split_vma":
				note = "splits"
			case strings.HasPrefix(e.Site, "vma_merge"):
				note = "merges"
			case e.Site == "exit_mmap":
				note = "exit_mmap"
			}
			if note != "" && !slices.Contains(o.notes, note) {
				o.notes = append(o.notes, note)
			}
		}
	}
	failStart := -1
	if o := cur[v.Task]; o != nil {
		failStart = o.start
	} else {
		// A violation found at rest (the invariants checked once every
		// task ended) or after the failing task's op returned: what raced
		// is what overlapped that task's last op; with no task (the
		// runner's checks), every op of the concurrent phase.
		failStart = 0
		for _, o := range ops {
			if o.task == v.Task {
				failStart = o.start
			}
		}
	}
	structural := func(verb string) bool {
		return slices.Contains([]string{"mmap", "munmap", "mprotect", "mremap", "madvise", "fork", "exit", "exec"}, verb)
	}
	var all, writers []string
	for _, o := range ops {
		if o.task == v.Task || failStart < 0 || (o.end >= 0 && o.end <= failStart) {
			continue // the failing task's own, or over before the failing op began
		}
		s := o.verb
		if len(o.notes) > 0 {
			s += " (" + strings.Join(o.notes, ", ") + ")"
		}
		if !slices.Contains(all, s) {
			all = append(all, s)
		}
		if (structural(o.verb) || len(o.notes) > 0) && !slices.Contains(writers, s) {
			writers = append(writers, s)
		}
	}
	if len(writers) > 0 {
		all = writers
	}
	slices.Sort(all)
	return all
}

// minimize shrinks a counterexample, keeping its invariant and its racing
// ops, and writes it as a scenario.
func (t *tally) minimize(ctx context.Context, c *Counterexample, n int) error {
	want := strings.Join(c.Racing, ", ")
	m := minimize.Minimize(c.prog, c.rep, minimize.Options{Budget: t.o.MinimizeBudget, Seeds: 100, Context: ctx,
		Run:  harness.Options{SemanticOnly: t.o.SemanticOnly},
		Also: func(r *harness.Report) bool { return strings.Join(Racing(r), ", ") == want }})
	prog := *m.Program
	c.Ops = prog.Ops()
	c.Narrative = m.Report.Narrative(10)
	c.Detail = m.Report.Verdict.Violation.Detail
	prog.Variants = nil
	rules := ""
	if t.o.SemanticOnly {
		rules = " -rules=false"
	}
	if t.o.OutDir != "" {
		c.Scenario = filepath.Join(t.o.OutDir, fmt.Sprintf("counterexample-%d.txt", n))
		var b strings.Builder
		racing := want
		if racing == "" {
			racing = "nothing (the failing task alone)"
		}
		fmt.Fprintf(&b, "# Found by mmrace check -variants %s: %s, racing %s.\n", t.o.Variants, c.Invariant, racing)
		fmt.Fprintf(&b, "# Replay string: %s\n#\n", m.Report.Schedule)
		for _, l := range strings.Split(strings.TrimRight(c.Narrative, "\n"), "\n") {
			fmt.Fprintf(&b, "# %s\n", l)
		}
		fmt.Fprintf(&b, "\nprogram\n%s----\nok\n\nrun trace=0\n----\nok\n\nrun variants=%s%s trace=20\n----\nok\n", prog.String(), t.o.Variants,
			map[bool]string{true: " rules=off"}[t.o.SemanticOnly])
		if err := os.MkdirAll(t.o.OutDir, 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(c.Scenario, []byte(b.String())); err != nil {
			return err
		}
		c.Replay = fmt.Sprintf("go run ./cmd/mmrace replay %s -variants %s%s -schedule %s", c.Scenario, t.o.Variants, rules, m.Report.Schedule)
	} else {
		c.Replay = fmt.Sprintf("go run ./cmd/mmrace replay PROGRAM -variants %s%s -schedule %s", t.o.Variants, rules, m.Report.Schedule)
	}
	prog.Schedule = m.Report.Schedule
	c.Program = prog.String()
	return nil
}
