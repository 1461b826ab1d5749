package main

import (
	"fmt"
	"os"
	"path/filepath"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/internal/atomicfile"
	"mmrace/internal/scenario"
	"mmrace/internal/timeline"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

var replayCommand = command{
	name:  "replay",
	args:  "FILE",
	short: "re-run a corpus scenario or program once under its schedule; -html draws it",
	long: `Replay re-runs the corpus scenario or kernelsim program in FILE once
under its schedule line (followed leniently, as the corpus does) or under
-schedule (followed exactly), and prints the program, the verdict, the
story of the run and a command that replays it again. With -html it also
writes the run as a self-contained HTML timeline: a lane per task, lock
holds as bars, the violating step marked.`,
	run: replayCmd,
}

// replayCmd is `mmrace replay FILE`: re-run a corpus scenario or a kernelsim
// program once under its schedule line (followed leniently, as the corpus
// does) or under -schedule (exactly), print the report, and with -html draw
// the run as a timeline page.
func replayCmd(e *env, args []string) (int, error) {
	fs := e.fs
	variants := fs.String("variants", "", "comma-separated `variants` (default: the program's own, else the faithful kernel)")
	rules := fs.Bool("rules", true, "rule checks and lockdep on; -rules=false is semantic-only")
	schedule := newScheduleFlag(fs, "replay this schedule `v1.…` exactly instead of the program's schedule line")
	deprecatedAlias(fs, "replay", "schedule")
	htmlOut := fs.String("html", "", "write the run's timeline to `FILE` (a self-contained HTML page)")
	story := fs.Int("story", 20, "print the last `N` events of the story")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	mutant := newMutantFlag(fs)
	file, err := e.parseFile(args, "a scenario or program file")
	if err != nil {
		return exitUsage, err
	}
	p, crash, err := loadInput(file, *variants) // a program, or a FuzzKernel crash file of either engine
	if err != nil {
		return exitUsage, err
	}
	opts := harness.Options{SemanticOnly: !*rules}
	if opts.Mutant, err = mutant.mutant(); err != nil {
		return exitUsage, err
	}
	switch {
	case schedule.given():
		opts.Strategy = schedule.replay()
	case crash != nil: // the schedule bytes of the fuzz input, run as FuzzKernel ran them (fuzz.Exec)
	case p.Schedule == "":
		return exitUsage, fmt.Errorf("%w: replay: %s has no schedule line (add \"schedule v1.…\" or pass -schedule)", errUsage, file)
	default:
		// harness.Run replays the pinned schedule leniently; check it here
		// so that a corrupt one is bad input, not a harness error.
		if _, err := sched.ParseSchedule(p.Schedule); err != nil {
			return exitUsage, fmt.Errorf("%w: %s: schedule line: %v", errUsage, file, err)
		}
	}
	if *story < 0 {
		return exitUsage, fmt.Errorf("%w: replay: -story must not be negative", errUsage)
	}
	var page *atomicfile.File
	if *htmlOut != "" {
		if page, err = atomicfile.Create(*htmlOut); err != nil {
			return exitUsage, fmt.Errorf("%w: -html: %v", errUsage, err)
		}
		defer page.Abort()
	}

	var rep *harness.Report
	if crash != nil && !schedule.given() {
		rep = fuzz.Exec(p, crash.sched, opts)
	} else {
		rep = harness.Run(p, opts)
	}
	if rep.Verdict.InvalidProgram() {
		return exitUsage, invalidProgram(file, rep)
	}
	if page != nil {
		title := fmt.Sprintf("%s: %s, rules %s", filepath.Base(file), p.Variants, onOff(*rules))
		if err := timeline.Render(page, rep, title); err != nil {
			return exitInternal, fmt.Errorf("-html: %v", err)
		}
		if err := page.Commit(); err != nil {
			return exitInternal, fmt.Errorf("-html: %v", err)
		}
	}
	if crash != nil {
		fmt.Fprintf(e.stdout, "CRASH FILE\n%s, %s: its program and schedule bytes\n\n", file, crash.engine)
	}
	// A run that fails in setup records no schedule: replay what it ran.
	again := rep.Schedule
	if again == "" {
		again = schedule.text
	}
	cmd := reproduce("replay", file, p.Variants, *rules, again) + mutant.arg()
	if *asJSON {
		r := reportOf(rep, *rules, cmd)
		r.Timeline = *htmlOut
		return statusOf(rep), writeJSON(e.stdout, r)
	}
	fmt.Fprintf(e.stdout, "PROGRAM\n%s\nVARIANTS\n%s (rules %v)\n\nVERDICT\n%s\nSTORY\n%s\nSCHEDULE\n%s\n\n",
		p, p.Variants, *rules, rep.Summary(), rep.Story(*story), rep.Schedule)
	if page != nil {
		fmt.Fprintf(e.stdout, "TIMELINE\n%s\n\n", *htmlOut)
	}
	fmt.Fprintf(e.stdout, "To reproduce:\n  %s\n", cmd)
	return statusOf(rep), nil
}

// readProgram reads a corpus scenario (the program of its first program
// directive) or a plain kernelsim program file.
func readProgram(file string) (*kernelsim.Program, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	text := string(b)
	var p *kernelsim.Program
	if scenario.Is(text) {
		sc, err := scenario.Read(file, text)
		if err != nil {
			return nil, err
		}
		if p, err = sc.Parse(); err != nil {
			return nil, err
		}
	} else if p, err = kernelsim.Parse(file, text); err != nil {
		return nil, err
	}
	if len(p.Tasks) == 0 {
		return nil, fmt.Errorf("%s: no program: no task ops (\"t1: OP\" lines)", file)
	}
	return p, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
