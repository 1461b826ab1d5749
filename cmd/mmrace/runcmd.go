package main

import (
	"fmt"
	"strings"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

var runCommand = command{
	name:  "run",
	args:  "FILE",
	short: "search a program's schedules (PCT) until one fails",
	long: `Run runs the kernelsim program in FILE (or the program of a corpus
scenario) under many schedules, PCT by default, until a run finds a
violation or a deadlock, and prints the program, the verdict, the story of
the failing run, its schedule and a command that replays it exactly.
-schedule replays one recorded schedule instead of searching; -plan runs a
hand-written one.

A program names its mms and files, its setup ops and each task's ops, one
a line ("t2: mremap mm1 0x14+4 -> 0x30"); docs/language.md describes every
line and op, and a malformed line's error prints the op's syntax.

When no PCT run fails, it states what the runs support for this program:
by PCT's guarantee (one run of depth d hits a given bug of depth d with
probability at least 1/(n*k^(d-1)), n tasks, runs of at most k steps), the
probability that the runs would have hit a bug of depth 1, 2, ... up to
-depth, counting the runs whose steps stayed within k; a run of depth D is
counted for every depth up to D with its own, smaller, bound 1/(n*k^(D-1)). It is a statement
about this program's schedules only, and not about data choices (injected
allocation failures are drawn at random).`,
	run: runCmd,
}

// runCmd is `mmrace run FILE`: run a kernelsim program under many schedules
// (or one replayed schedule) until a run fails, and print the report.
func runCmd(e *env, args []string) (int, error) {
	fs := e.fs
	variants := fs.String("variants", "", "comma-separated `variants` (default: the program's own, else the faithful kernel)")
	rules := fs.Bool("rules", true, "rule checks and lockdep on; -rules=false is semantic-only")
	runs := fs.Int("runs", 1000, "schedules to try")
	strategy := fs.String("strategy", "pct", "scheduling `strategy`: pct (PCT of depth -depth), pct-windows (PCT that also preempts where TLB races live: after a PTE reduction another CPU's TLB still holds, a copy of a page another CPU can still store to, a TLB fill) or random")
	depth := fs.Int("depth", 3, "PCT depth")
	schedule := newScheduleFlag(fs, "replay this schedule `v1.…` once instead of searching")
	deprecatedAlias(fs, "replay", "schedule")
	plan := fs.String("plan", "", "run once under a hand-written `PLAN` such as \"t1:35 t2:11 t1:25\" (task:points)")
	story := fs.Int("story", 20, "print the last `N` events of the story")
	want := fs.String("want", "", "keep searching until the violation's invariant or detail contains `TEXT`")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	mutant := newMutantFlag(fs)
	file, err := e.parseFile(args, "a program file")
	if err != nil {
		return exitUsage, err
	}
	p, err := loadProgram(file, *variants)
	if err != nil {
		return exitUsage, err
	}
	tuneGC()
	opts := harness.Options{SemanticOnly: !*rules, Want: *want}
	if opts.Mutant, err = mutant.mutant(); err != nil {
		return exitUsage, err
	}
	if *runs < 1 || *depth < 1 {
		return exitUsage, fmt.Errorf("%w: run: -runs and -depth must be positive", errUsage)
	}
	var mk func(i int) sched.Strategy
	pctK := 0
	switch {
	case *plan != "":
		pl, err := sched.ParsePlan(*plan)
		if err != nil {
			return exitUsage, fmt.Errorf("%w: -plan: %v", errUsage, err)
		}
		mk, *runs = func(int) sched.Strategy { return pl }, 1
	case schedule.given():
		mk, *runs = func(int) sched.Strategy { return schedule.replay() }, 1
	case *strategy == "pct":
		// PCT's k bounds the steps of a run: measure a non-preemptive run.
		k := harness.Run(p, opts).Steps*5/4 + 10
		mk = func(i int) sched.Strategy { return sched.NewPCT(uint64(i), *depth, k) }
		pctK = k
	case *strategy == "pct-windows":
		// PCT that also preempts at TLB windows (sched.PCT.Windows): its
		// extra preemptions void PCT's bound, so no confidence is stated.
		k := harness.Run(p, opts).Steps*5/4 + 10
		mk = func(i int) sched.Strategy {
			s := sched.NewPCT(uint64(i), *depth, k)
			s.Windows = true
			return s
		}
	case *strategy == "random":
		mk = func(i int) sched.Strategy { return sched.NewRandom(uint64(i)) }
	default:
		return exitUsage, fmt.Errorf("%w: run: unknown strategy %q (pct, pct-windows or random)", errUsage, *strategy)
	}
	if first := harness.Run(p, opts); first.Verdict.InvalidProgram() {
		return exitUsage, invalidProgram(file, first)
	}
	pct := sched.PCTRuns{Tasks: len(p.Tasks)}
	if pctK > 0 {
		opts.OnRun = func(_ sched.Strategy, r *harness.Report) { pct.Add(*depth, pctK, r.Steps) }
	}
	rep, n := harness.Search(p, opts, mk, *runs)
	again := reproduce("run", file, p.Variants, *rules, rep.Schedule) + mutant.arg()
	var conf *pctJSON
	if pctK > 0 && !rep.Finding() && !rep.InternalError() {
		conf = pctConfidence(&pct, *depth, pctK, p.InjectAllocFailures)
	}
	if *asJSON {
		return statusOf(rep), writeJSON(e.stdout, runJSON{Runs: n, PCT: conf, report: reportOf(rep, *rules, again)})
	}
	fmt.Fprintf(e.stdout, "PROGRAM\n%s\nVARIANTS\n%s (rules %v)\n\nVERDICT after %d run(s)\n%s\nSTORY\n%s\nSCHEDULE\n%s\n",
		p, p.Variants, *rules, n, rep.Summary(), rep.Story(*story), rep.Schedule)
	if conf != nil {
		fmt.Fprintf(e.stdout, "\nPCT CONFIDENCE (this program)\n%s", conf.text())
	}
	fmt.Fprintf(e.stdout, "\nTo reproduce:\n  %s\n", again)
	return statusOf(rep), nil
}

// pctJSON is what PCT runs of one program support (mmrace run, mmrace
// check on given programs).
type pctJSON struct {
	Tasks      int       `json:"tasks"`
	K          int       `json:"k"`
	Runs       int       `json:"runs"`
	Depth      int       `json:"depth"`
	Covered    []int     `json:"covered_runs_by_depth"` // index d-1
	Confidence []float64 `json:"confidence_by_depth"`   // index d-1
	DataChoice bool      `json:"data_choices"`
}

// pctConfidence states the confidence of the runs of one program for bug
// depths 1..depth.
func pctConfidence(r *sched.PCTRuns, depth, k int, dataChoices bool) *pctJSON {
	c := &pctJSON{Tasks: r.Tasks, K: k, Runs: r.Runs(), Depth: depth, DataChoice: dataChoices}
	for d := 1; d <= depth; d++ {
		c.Covered = append(c.Covered, r.Covered(d))
		c.Confidence = append(c.Confidence, r.Confidence(d))
	}
	return c
}

func (c *pctJSON) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no violation in %d PCT runs of depth %d (n=%d tasks, k=%d steps; a run of depth D hits a given bug of depth d <= D with probability >= 1/(n*k^(D-1))):\n", c.Runs, c.Depth, c.Tasks, c.K)
	for d := 1; d <= c.Depth; d++ {
		fmt.Fprintf(&b, "  a bug of depth %d would have been hit with probability >= %.4f (%d runs within k)\n", d, c.Confidence[d-1], c.Covered[d-1])
	}
	if c.DataChoice {
		b.WriteString("  (for bugs that need no particular injected allocation failure: PCT draws those at random)\n")
	}
	return b.String()
}

// loadProgram reads a kernelsim program file or corpus scenario and applies
// a -variants flag (empty keeps the program's own). Errors are usage errors
// naming the file and line.
func loadProgram(file, variants string) (*kernelsim.Program, error) {
	p, err := readProgram(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if variants != "" {
		if p.Variants, err = kernelsim.ParseVariants(variants); err != nil {
			return nil, fmt.Errorf("%w: -variants: %v", errUsage, err)
		}
	}
	return p, nil
}
