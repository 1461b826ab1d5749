package main

import (
	"fmt"
	"time"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/kernelsim/sched"
	"mmrace/minimize"
)

var minimizeCommand = command{
	name:  "minimize",
	args:  "FILE",
	short: "shrink a failing program or FuzzKernel crasher",
	long: `Minimize finds a failure of the kernelsim program or FuzzKernel crasher
in FILE (under -schedule, else its pinned schedule or the crasher's, else
a PCT search) and shrinks it to the ops and context switches that matter,
keeping the same invariant. It prints the minimized program, ready to save
as a corpus scenario, its verdict and narrative, and a command that replays
it. Exit status 1 means a failure was found and minimized; 0 that none was
found.`,
	run: minimizeCmd,
}

// minimizeCmd is `mmrace minimize FILE`: find a failure of the program (its
// pinned schedule first, then a PCT search) and shrink it to the ops and
// context switches that matter; print the minimized program, ready to save
// as a corpus scenario, and its narrative.
func minimizeCmd(e *env, args []string) (int, error) {
	fs := e.fs
	variants := fs.String("variants", "", "comma-separated `variants` (default: the program's)")
	rules := fs.Bool("rules", true, "rule checks and lockdep on; -rules=false is semantic-only")
	budget := fs.Duration("budget", 60*time.Second, "wall-clock `budget` for the minimization")
	runs := fs.Int("runs", 20000, "schedules to try to find the first failure")
	schedule := newScheduleFlag(fs, "try this schedule `v1.…` first, exactly, instead of the pinned one")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	file, err := e.parseFile(args, "a program file")
	if err != nil {
		return exitUsage, err
	}
	out := e.stdout
	p, crash, err := loadInput(file, *variants) // a program, or a FuzzKernel crash file of either engine
	if err != nil {
		return exitUsage, err
	}
	if *runs < 1 || *budget <= 0 {
		return exitUsage, fmt.Errorf("%w: minimize: -runs and -budget must be positive", errUsage)
	}
	opts := harness.Options{SemanticOnly: !*rules}
	first := opts
	switch {
	case schedule.given():
		first.Strategy = schedule.replay()
	}
	var rep *harness.Report
	if crash != nil && !schedule.given() {
		rep = fuzz.Exec(p, crash.sched, first) // as FuzzKernel ran the crasher
	} else {
		rep = harness.Run(p, first) // -schedule or the pinned schedule, if any
	}
	n := 1
	if rep.Verdict.InvalidProgram() {
		return exitUsage, invalidProgram(file, rep)
	}
	if !rep.Finding() && !rep.InternalError() {
		k := rep.Steps*5/4 + 10
		rep, n = harness.Search(p, opts, func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 2+i%2, k) }, *runs)
		n++ // and the first run
	}
	if !rep.Finding() {
		// Nothing to minimize: the clean result, or the harness's own failure.
		if *asJSON {
			return statusOf(rep), writeJSON(out, minimizeJSON{report: reportOf(rep, *rules, ""), OpsBefore: p.Ops(), OpsAfter: p.Ops(), Runs: n})
		}
		if rep.InternalError() {
			fmt.Fprintf(out, "VERDICT after %d run(s)\n%s", n, rep.Summary())
		} else {
			fmt.Fprintf(out, "no finding in %d runs: nothing to minimize\n", n)
		}
		return statusOf(rep), nil
	}
	res := minimize.Minimize(p, rep, minimize.Options{Budget: *budget, Run: opts})
	again := reproduce("run", "min.txt", nil, *rules, res.Report.Schedule)
	if *asJSON {
		r := reportOf(res.Report, *rules, again)
		r.Program = res.Program.String() // with its schedule pinned
		return exitFinding, writeJSON(out, minimizeJSON{report: r, OpsBefore: p.Ops(), OpsAfter: res.Program.Ops(),
			Switches: res.Switches, Runs: n + res.Runs, Seconds: res.Elapsed.Seconds()})
	}
	fmt.Fprintf(out, "minimized %d ops to %d, %d context switches, in %v (%d runs)\n\nPROGRAM\n%s\nVERDICT\n%s\nNARRATIVE\n%s\nTo reproduce (save PROGRAM as min.txt):\n  %s\n",
		p.Ops(), res.Program.Ops(), res.Switches, res.Elapsed.Round(time.Millisecond), res.Runs, res.Program, res.Report.Summary(), res.Report.Narrative(10), again)
	return exitFinding, nil
}
