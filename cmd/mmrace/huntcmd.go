package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"mmrace/hunt"
	"mmrace/kernelsim"
)

var huntCommand = command{
	name:  "hunt",
	short: "detect every modelled kernel bug and check the faithful kernel (~1 min)",
	long: `Hunt searches random programs and schedules for every variant (every
modelled kernel bug) until it is detected, semantic-only and with rule
checks on; minimizes each variant's first failure into a corpus scenario
under -out; then runs the faithful kernel for a budget and prints the
detection table. Progress goes to stderr, the table (or -json) to stdout.

Each search is reported in the words of mmrace check: the invariant that
detected it; "not exercised" when the variant's branch never ran (the
generators never reached the change: a gap of the search, not a safe
change); "no violation" when it ran and nothing broke; or, semantic-only,
the catalogue's reason why the variant may not be observable there ("not
observable: ...", "beyond the search: ..."). When the rules-on search
finds nothing of its own, the semantic-only counterexample is replayed
with rule checks on, and a finding then is marked "(the semantic-only
counterexample, replayed)". The faithful kernel's line
says what its runs covered (programs, schedules per program, reach cells),
not a probability: PCT's bound holds per program (mmrace run states it).

Ctrl-C (SIGINT) stops the hunt: it prints the table of the variants
finished and the one interrupted, marked so, and exits with the status
those deserve. Exit status 1 means a finished variant went undetected or
the faithful kernel failed: a variant must be detected with rule checks
on, and semantic-only unless the catalogue (mmrace variants) says why not.`,
	run: huntCmd,
}

// huntCmd is `mmrace hunt`: the detection table of every variant and the
// faithful kernel's verdict (the README's main command).
func huntCmd(e *env, args []string) (int, error) {
	fs := e.fs
	per := fs.Duration("per-variant", 8*time.Second, "search `budget` per variant and rule mode")
	faith := fs.Duration("faithful", 20*time.Second, "`budget` for the faithful kernel")
	runs := fs.Int("runs", 0, "at most `N` runs per variant and mode (0: budget only); makes the result independent of machine speed")
	minb := fs.Duration("minimize", 3*time.Second, "minimization `budget` per variant")
	outDir := fs.String("out", "hunt-out", "`directory` for the minimized reproducers (corpus scenarios)")
	only := fs.String("variants", "", "comma-separated `variants` to hunt (default: all)")
	seed := fs.Uint64("seed", 1, "search `seed`")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	compareFree := fs.Bool("compare-free", false, "also search every variant in free mode (truly parallel, no controlled scheduling): same programs, same budget")
	if err := e.parseNoArgs(args); err != nil {
		return exitUsage, err
	}
	tuneGC()
	out := e.stdout
	if *per <= 0 || *faith < 0 || *minb <= 0 {
		return exitUsage, fmt.Errorf("%w: hunt: budgets must be positive", errUsage)
	}
	opts := hunt.Options{PerVariant: *per, PerVariantRuns: *runs, Faithful: *faith, MinimizeBudget: *minb, OutDir: *outDir, Seed: *seed, CompareFree: *compareFree}
	if *only != "" {
		vs, err := kernelsim.ParseVariants(*only)
		if err != nil {
			return exitUsage, fmt.Errorf("%w: -variants: %v", errUsage, err)
		}
		for _, v := range kernelsim.AllVariants {
			if vs.Has(v.Name) {
				opts.Variants = append(opts.Variants, v)
			}
		}
	}
	if !*asJSON {
		opts.Progress = func(line string) { fmt.Fprintln(e.stderr, line) }
	}
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C kills at once
	opts.Context = ctx
	start := time.Now()
	res, err := hunt.Run(opts)
	if err != nil {
		return exitInternal, err
	}
	if *asJSON {
		if err := writeJSON(out, res); err != nil {
			return exitInternal, err
		}
	} else {
		printTable(out, res, time.Since(start))
	}
	switch {
	case res.InternalErrors() > 0:
		return exitInternal, nil
	case !res.OK():
		return exitFinding, nil
	}
	return exitClean, nil
}

func printTable(out io.Writer, res *hunt.Result, total time.Duration) {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	free := len(res.Variants) > 0 && res.Variants[0].Free != nil
	if free {
		fmt.Fprintln(tw, "VARIANT\tSEMANTIC-ONLY (controlled)\tSEMANTIC-ONLY (free mode)\tRULES ON\tMIN OPS\tREPRODUCER")
	} else {
		fmt.Fprintln(tw, "VARIANT\tSEMANTIC-ONLY\tRULES ON\tMIN OPS\tREPRODUCER")
	}
	cell := func(d hunt.Detection, expect string) string {
		var s string
		switch w := d.Word(expect); {
		case d.Detected:
			s = fmt.Sprintf("%s: %d runs, %.2fs", d.Invariant, d.Executions, d.Seconds)
		case d.Interrupted:
			s = fmt.Sprintf("INTERRUPTED (%d runs)", d.Executions)
		case !d.Exercised():
			s = fmt.Sprintf("not exercised: the branch never ran in %d runs", d.Executions)
		case w != "no violation":
			s = fmt.Sprintf("%s (%d runs)", strings.SplitN(w, ":", 2)[0], d.Executions)
		default:
			s = fmt.Sprintf("no violation in %d runs (branch ran in %d)", d.Executions, d.BranchRuns)
		}
		if d.InternalErrors > 0 {
			s += fmt.Sprintf(" [%d INTERNAL ERRORS]", d.InternalErrors)
		}
		return s
	}
	var reasons []string
	for _, v := range res.Variants {
		if v.Interrupted {
			v.Name += " (interrupted)"
		} else if !v.Expected() {
			v.Name += " (NOT AS EXPECTED)"
		}
		if !v.Semantic.Detected && v.SemanticOnly != "" && !v.Interrupted {
			reasons = append(reasons, fmt.Sprintf("%s, semantic-only: %s", v.Name, v.SemanticOnly))
		}
		if free {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", v.Name, cell(v.Semantic, v.SemanticOnly), cell(*v.Free, v.SemanticOnly), cell(v.Rules, ""), v.MinOps, v.Reproducer)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", v.Name, cell(v.Semantic, v.SemanticOnly), cell(v.Rules, ""), v.MinOps, v.Reproducer)
		}
	}
	tw.Flush()
	if len(reasons) > 0 {
		fmt.Fprintf(out, "\nwhy (from the variant catalogue):\n")
		for _, r := range reasons {
			fmt.Fprintf(out, "  %s\n", r)
		}
	}
	if len(res.NotSearched) > 0 {
		fmt.Fprintf(out, "not searched (interrupted): %s\n", strings.Join(res.NotSearched, ", "))
	}
	f := res.Faithful
	switch {
	case f.Interrupted && f.Executions == 0:
		fmt.Fprintf(out, "\nfaithful kernel: not run (interrupted)\n")
	default:
		how := ""
		if f.Interrupted {
			how = "INTERRUPTED after "
		}
		fmt.Fprintf(out, "\nfaithful kernel: %s%d executions in %.1fs, %d violations; covered %d distinct programs (at most %d schedules each), %d of %d possible reach cells (a search over generated programs: no PCT probability, which holds per program)\n",
			how, f.Executions, f.Seconds, f.Violations, f.Programs, f.MaxSchedules, f.Reached, f.Possible)
	}
	if f.First != "" {
		fmt.Fprintf(out, "first faithful violation:\n%s\n", f.First)
	}
	if n := res.InternalErrors(); n > 0 {
		fmt.Fprintf(out, "\nMMRACE INTERNAL ERROR in %d runs (the harness failed; never counted as detections). The first:\n", n)
		first := f.FirstInternal
		for _, v := range res.Variants {
			for _, d := range []*hunt.Detection{&v.Semantic, &v.Rules, v.Free} {
				if first == "" && d != nil {
					first = d.FirstInternal
				}
			}
		}
		fmt.Fprintf(out, "%s\n", first)
	}
	detected := 0
	for _, v := range res.Variants {
		if v.Expected() && !v.Interrupted {
			detected++
		}
	}
	verdict := "OK"
	if !res.OK() {
		verdict = "FAIL"
	}
	searched := fmt.Sprintf("%d of %d variants detected as expected", detected, len(res.Variants))
	if res.Interrupted {
		verdict = "INTERRUPTED, so far " + verdict
		searched = fmt.Sprintf("%d of %d variants searched, %d detected", len(res.Variants), len(res.Variants)+len(res.NotSearched), detected)
	}
	faithful := map[bool]string{true: "clean", false: "FAILED"}[f.Violations == 0]
	if f.Interrupted && f.Executions == 0 {
		faithful = "not run"
	}
	fmt.Fprintf(out, "%s: %s; faithful kernel %s; %s\n", verdict, searched, faithful, strings.TrimSpace(total.Round(time.Second).String()))
}
