package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"mmrace/hunt"
	"mmrace/kernelsim"
)

// huntCmd is `mmrace hunt`: the detection table of every variant and the
// faithful kernel's verdict (the README's main command).
func huntCmd(args []string, out io.Writer) (int, error) {
	fs := newFlags("hunt")
	per := fs.Duration("per-variant", 4*time.Second, "search `budget` per variant and rule mode")
	faith := fs.Duration("faithful", 20*time.Second, "`budget` for the faithful kernel")
	runs := fs.Int("runs", 0, "at most `N` runs per variant and mode (0: budget only); makes the result independent of machine speed")
	minb := fs.Duration("minimize", 3*time.Second, "minimization `budget` per variant")
	outDir := fs.String("out", "hunt-out", "`directory` for the minimized reproducers (corpus scenarios)")
	only := fs.String("variants", "", "comma-separated `variants` to hunt (default: all)")
	seed := fs.Uint64("seed", 1, "search `seed`")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	compareFree := fs.Bool("compare-free", false, "also search every variant in free mode (truly parallel, no controlled scheduling): same programs, same budget")
	if err := parseFlags(fs, args); err != nil {
		return 2, err
	}
	if *per <= 0 || *faith < 0 || *minb <= 0 {
		return 2, fmt.Errorf("%w: hunt: budgets must be positive", errUsage)
	}
	opts := hunt.Options{PerVariant: *per, PerVariantRuns: *runs, Faithful: *faith, MinimizeBudget: *minb, OutDir: *outDir, Seed: *seed, CompareFree: *compareFree}
	if *only != "" {
		vs, err := kernelsim.ParseVariants(*only)
		if err != nil {
			return 2, fmt.Errorf("%w: -variants: %v", errUsage, err)
		}
		for _, v := range kernelsim.AllVariants {
			if vs.Has(v.Name) {
				opts.Variants = append(opts.Variants, v)
			}
		}
	}
	if !*asJSON {
		opts.Progress = func(line string) { fmt.Fprintln(os.Stderr, line) }
	}
	start := time.Now()
	res, err := hunt.Run(opts)
	if err != nil {
		return 1, err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return 1, err
		}
	} else {
		printTable(out, res, time.Since(start))
	}
	if res.InternalErrors() > 0 {
		return exitInternal, nil
	}
	if !res.OK() {
		return 1, nil
	}
	return 0, nil
}

func printTable(out io.Writer, res *hunt.Result, total time.Duration) {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	free := len(res.Variants) > 0 && res.Variants[0].Free != nil
	if free {
		fmt.Fprintln(tw, "VARIANT\tSEMANTIC-ONLY (controlled)\tSEMANTIC-ONLY (free mode)\tRULES ON\tMIN OPS\tREPRODUCER")
	} else {
		fmt.Fprintln(tw, "VARIANT\tSEMANTIC-ONLY\tRULES ON\tMIN OPS\tREPRODUCER")
	}
	cell := func(d hunt.Detection) string {
		s := fmt.Sprintf("%s: %d runs, %.2fs", d.Invariant, d.Executions, d.Seconds)
		if !d.Detected {
			s = fmt.Sprintf("not found (%d runs)", d.Executions)
		}
		if d.InternalErrors > 0 {
			s += fmt.Sprintf(" [%d INTERNAL ERRORS]", d.InternalErrors)
		}
		return s
	}
	for _, v := range res.Variants {
		if free {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", v.Name, cell(v.Semantic), cell(*v.Free), cell(v.Rules), v.MinOps, v.Reproducer)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", v.Name, cell(v.Semantic), cell(v.Rules), v.MinOps, v.Reproducer)
		}
	}
	tw.Flush()
	f := res.Faithful
	fmt.Fprintf(out, "\nfaithful kernel: %d executions in %.1fs, %d violations; PCT confidence (n=%d, k=%d): depth 2 %.4f, depth 3 %.4f\n",
		f.Executions, f.Seconds, f.Violations, f.N, f.K, f.ConfD2, f.ConfD3)
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
		if v.Detected {
			detected++
		}
	}
	verdict := "OK"
	if !res.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(out, "%s: %d of %d variants detected; faithful kernel %s; %s\n", verdict, detected, len(res.Variants),
		map[bool]string{true: "clean", false: "FAILED"}[f.Violations == 0], strings.TrimSpace(total.Round(time.Second).String()))
}
