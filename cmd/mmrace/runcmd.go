package main

import (
	"fmt"
	"io"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// runCmd is `mmrace run FILE`: run a kernelsim program under many schedules
// (or one replayed schedule) until a run fails, and print the report.
func runCmd(args []string, out io.Writer) (int, error) {
	fs := newFlags("run")
	variants := fs.String("variants", "", "comma-separated `variants` (default: the faithful kernel)")
	rules := fs.Bool("rules", true, "rule checks and lockdep on; -rules=false is semantic-only")
	runs := fs.Int("runs", 1000, "schedules to try")
	strategy := fs.String("strategy", "pct", "`pct` (depth -depth) or random")
	depth := fs.Int("depth", 3, "PCT depth")
	replay := fs.String("replay", "", "replay this schedule (v1.…) once instead of searching")
	plan := fs.String("plan", "", "run once under a hand-written `PLAN` such as \"t1:35 t2:11 t1:25\" (task:points)")
	story := fs.Int("story", 20, "print the last `N` events of the story")
	want := fs.String("want", "", "keep searching until the violation's invariant or detail contains `TEXT`")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return 2, fmt.Errorf("%w: run: expected a program file before the flags", errUsage)
	}
	file := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return 2, err
	}
	p, err := loadProgram(file, *variants)
	if err != nil {
		return 2, err
	}
	if *runs < 1 || *depth < 1 {
		return 2, fmt.Errorf("%w: run: -runs and -depth must be positive", errUsage)
	}
	var mk func(i int) sched.Strategy
	switch {
	case *plan != "":
		pl, err := sched.ParsePlan(*plan)
		if err != nil {
			return 2, fmt.Errorf("%w: -plan: %v", errUsage, err)
		}
		mk, *runs = func(int) sched.Strategy { return pl }, 1
	case *replay != "":
		s, err := sched.ParseSchedule(*replay)
		if err != nil {
			return 2, fmt.Errorf("%w: -replay: %v", errUsage, err)
		}
		mk, *runs = func(int) sched.Strategy { return sched.NewReplay(s) }, 1
	case *strategy == "pct":
		// PCT's k bounds the steps of a run: measure a non-preemptive run.
		k := harness.Run(p, harness.Options{SemanticOnly: !*rules}).Steps*5/4 + 10
		mk = func(i int) sched.Strategy { return sched.NewPCT(uint64(i), *depth, k) }
	case *strategy == "random":
		mk = func(i int) sched.Strategy { return sched.NewRandom(uint64(i)) }
	default:
		return 2, fmt.Errorf("%w: run: unknown strategy %q (pct or random)", errUsage, *strategy)
	}
	if first := harness.Run(p, harness.Options{SemanticOnly: !*rules}); first.Verdict.InvalidProgram() {
		return exitUsage, invalidProgram(file, first)
	}
	rep, n := harness.Search(p, harness.Options{SemanticOnly: !*rules, Want: *want}, mk, *runs)
	fmt.Fprintf(out, "PROGRAM\n%s\nVARIANTS\n%s (rules %v)\n\nVERDICT after %d run(s)\n%s\nSTORY\n%s\nSCHEDULE\n%s\n\nTo reproduce:\n  go run ./cmd/mmrace run %s -variants=%s -rules=%v -replay %s\n",
		p, p.Variants, *rules, n, rep.Summary(), rep.Story(*story), rep.Schedule, file, p.Variants.String(), *rules, rep.Schedule)
	return statusOf(rep), nil
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
