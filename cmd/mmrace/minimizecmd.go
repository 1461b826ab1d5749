package main

import (
	"fmt"
	"io"
	"time"

	"mmrace/harness"
	"mmrace/kernelsim/sched"
	"mmrace/minimize"
)

// minimizeCmd is `mmrace minimize FILE`: find a failure of the program (its
// pinned schedule first, then a PCT search) and shrink it to the ops and
// context switches that matter; print the minimized program, ready to save
// as a corpus scenario, and its narrative.
func minimizeCmd(args []string, out io.Writer) (int, error) {
	fs := newFlags("minimize")
	variants := fs.String("variants", "", "comma-separated `variants` (default: the program's)")
	rules := fs.Bool("rules", true, "rule checks and lockdep on; -rules=false is semantic-only")
	budget := fs.Duration("budget", 60*time.Second, "wall-clock `budget` for the minimization")
	runs := fs.Int("runs", 20000, "schedules to try to find the first failure")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return 2, fmt.Errorf("%w: minimize: expected a program file before the flags", errUsage)
	}
	file := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return 2, err
	}
	p, crash, err := loadInput(file, *variants) // a program, or a FuzzKernel crash file of either engine
	if err != nil {
		return 2, err
	}
	if *runs < 1 || *budget <= 0 {
		return 2, fmt.Errorf("%w: minimize: -runs and -budget must be positive", errUsage)
	}
	opts := harness.Options{SemanticOnly: !*rules}
	first := opts
	if crash != nil {
		first.Strategy = sched.NewBytes(crash.sched)
	}
	rep := harness.Run(p, first) // the crasher's or the pinned schedule, if any
	n := 1
	if rep.InternalError() {
		fmt.Fprintf(out, "VERDICT\n%s", rep.Summary())
		return exitInternal, nil
	}
	if !rep.Finding() {
		k := rep.Steps*5/4 + 10
		rep, n = harness.Search(p, opts, func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 2+i%2, k) }, *runs)
	}
	if rep.InternalError() {
		fmt.Fprintf(out, "VERDICT after %d run(s)\n%s", n, rep.Summary())
		return exitInternal, nil
	}
	if !rep.Finding() {
		fmt.Fprintf(out, "no finding in %d runs: nothing to minimize\n", n)
		return 0, nil
	}
	res := minimize.Minimize(p, rep, minimize.Options{Budget: *budget, Run: opts})
	fmt.Fprintf(out, "minimized %d ops to %d, %d context switches, in %v (%d runs)\n\nPROGRAM\n%s\nVERDICT\n%s\nNARRATIVE\n%s\nTo reproduce (save PROGRAM as min.txt):\n  go run ./cmd/mmrace run min.txt -rules=%v -replay %s\n",
		p.Ops(), res.Program.Ops(), res.Switches, res.Elapsed.Round(time.Millisecond), res.Runs, res.Program, res.Report.Summary(), res.Report.Narrative(10), *rules, res.Report.Schedule)
	return 1, nil
}
