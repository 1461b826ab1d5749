package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"mmrace/check"
	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/locks"
)

var checkCommand = command{
	name:  "check",
	args:  "[FILE...]",
	short: "one kernel change (a variant set), searched thoroughly, with an honest verdict",
	long: `Check searches one change of the kernel — the variants of -variants, the
user's own change — thoroughly: hunt's search over generated programs for
-budget, or, given FILEs, each program under PCT for -budget runs. It keeps
going after the first failure and reports the distinct counterexamples (by
invariant and by the ops that raced with the failing task), each minimized
and written as a scenario under -out with the command that replays it.

When nothing fails it says "no violation in N executions" and what that is
worth: how often the variant's branch ran (a branch that never ran is "not
exercised": nothing was tried, which is no verdict on the change), which
invariants looked at the state after it ran, the reach cells of the kernel
paths the change touches (from mmrace variants), and PCT's confidence for
each given program. A search over generated programs states what it
covered, never a probability: PCT's bound holds per program.

Semantic-only by default (-rules=false): only the change's consequences
count; -rules turns the rule checks on, which report a removed lock at the
breach.

docs/modelling-your-change.md walks through a change from the patch idea
to the verdict, on a worked example.`,
	run: checkCmd,
}

// checkCmd is `mmrace check -variants V [FILE...]`.
func checkCmd(e *env, args []string) (int, error) {
	fs := e.fs
	variants := fs.String("variants", "", "comma-separated `variants`: the change to check (required)")
	rules := fs.Bool("rules", false, "rule checks and lockdep on (default: semantic-only)")
	budget := &budgetFlag{dur: 60 * time.Second}
	fs.Var(budget, "budget", "search `budget`: executions (12000), a duration (60s) or both (12000,60s), whichever ends first; with FILEs the executions are per program, 1000 unless given")
	depth := fs.Int("depth", 3, "PCT depth for given programs")
	seed := fs.Uint64("seed", 1, "search `seed`")
	maxCE := fs.Int("max", 10, "report at most `N` distinct counterexamples (distinct by the ops that raced with the failing task; the fewest racing ops first)")
	minb := fs.Duration("minimize", 5*time.Second, "minimization `budget` per counterexample")
	outDir := fs.String("out", "check-out", "`directory` for the counterexamples' scenarios")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	files, err := e.parse(args)
	if err != nil {
		return exitUsage, err
	}
	if *variants == "" {
		return exitUsage, fmt.Errorf("%w: check: -variants is required (the change to check; mmrace variants lists them)", errUsage)
	}
	vs, err := kernelsim.ParseVariants(*variants)
	if err != nil {
		return exitUsage, fmt.Errorf("%w: -variants: %v", errUsage, err)
	}
	if len(vs) == 0 {
		return exitUsage, fmt.Errorf("%w: check: -variants names no variant (the faithful kernel is what hunt and stress check)", errUsage)
	}
	if *depth < 1 || *maxCE < 1 || *minb <= 0 {
		return exitUsage, fmt.Errorf("%w: check: -depth, -max and -minimize must be positive", errUsage)
	}
	if err := locks.CheckOutDir(*outDir); err != nil {
		return exitUsage, fmt.Errorf("%w: -out: %v", errUsage, err)
	}
	budgetSet := false
	fs.Visit(func(f *flag.Flag) { budgetSet = budgetSet || f.Name == "budget" })
	if len(files) > 0 && !budgetSet {
		budget.runs = 1000
	}
	o := check.Options{Variants: vs, SemanticOnly: !*rules, Runs: budget.runs, Budget: budget.dur, Seed: *seed, Depth: *depth,
		MaxCounterexamples: *maxCE, MinimizeBudget: *minb, OutDir: *outDir}
	for _, f := range files {
		p, err := loadProgram(f, "")
		if err != nil {
			return exitUsage, err
		}
		p.Variants = vs
		if first := harness.Run(p, harness.Options{SemanticOnly: !*rules}); first.Verdict.InvalidProgram() {
			return exitUsage, invalidProgram(f, first)
		}
		o.Programs = append(o.Programs, check.NamedProgram{Name: f, Program: p})
	}
	if !*asJSON {
		o.Progress = func(l string) { fmt.Fprintln(e.stderr, l) }
	}
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop)
	o.Context = ctx
	res, err := check.Run(o)
	if err != nil {
		return exitInternal, err
	}
	if *asJSON {
		if err := writeJSON(e.stdout, res); err != nil {
			return exitInternal, err
		}
	} else {
		res.Write(e.stdout)
	}
	switch {
	case res.InternalErrors > 0:
		return exitInternal, nil
	case res.Verdict == check.Found:
		return exitFinding, nil
	}
	return exitClean, nil
}
