package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"mmrace/harness"
	"mmrace/internal/scenario"
	"mmrace/internal/timeline"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// replayCmd is `mmrace replay FILE`: re-run a corpus scenario or a kernelsim
// program once under its schedule line (followed leniently, as the corpus
// does) or under -schedule (exactly), print the report, and with -html draw
// the run as a timeline page.
func replayCmd(args []string, out io.Writer) (int, error) {
	fs := newFlags("replay")
	variants := fs.String("variants", "", "comma-separated `variants` (default: the program's own, else the faithful kernel)")
	rules := fs.Bool("rules", true, "rule checks and lockdep on; -rules=false is semantic-only")
	schedule := fs.String("schedule", "", "replay this schedule (v1.…) exactly instead of the program's schedule line")
	htmlOut := fs.String("html", "", "write the run's timeline to `FILE` (a self-contained HTML page)")
	story := fs.Int("story", 20, "print the last `N` events of the story")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return 2, fmt.Errorf("%w: replay: expected a scenario or program file before the flags", errUsage)
	}
	file := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return 2, err
	}
	p, crash, err := readInput(file)
	if err != nil {
		return 2, fmt.Errorf("%w: %v", errUsage, err)
	}
	if *variants != "" {
		v, err := kernelsim.ParseVariants(*variants)
		if err != nil {
			return 2, fmt.Errorf("%w: -variants: %v", errUsage, err)
		}
		p.Variants = v
	}
	opts := harness.Options{SemanticOnly: !*rules}
	switch {
	case *schedule != "":
		s, err := sched.ParseSchedule(*schedule)
		if err != nil {
			return 2, fmt.Errorf("%w: -schedule: %v", errUsage, err)
		}
		opts.Strategy = sched.NewReplay(s)
	case crash != nil: // the schedule bytes of the fuzz input, as FuzzKernel ran them
		opts.Strategy = sched.NewBytes(crash.sched)
	case p.Schedule == "":
		return 2, fmt.Errorf("%w: replay: %s has no schedule line (add \"schedule v1.…\" or pass -schedule)", errUsage, file)
	default:
		// harness.Run replays the pinned schedule leniently; check it here
		// so that a corrupt one is bad input, not a harness error.
		if _, err := sched.ParseSchedule(p.Schedule); err != nil {
			return 2, fmt.Errorf("%w: %s: schedule line: %v", errUsage, file, err)
		}
	}
	if *story < 0 {
		return 2, fmt.Errorf("%w: replay: -story must not be negative", errUsage)
	}
	var page *atomicFile
	if *htmlOut != "" {
		if page, err = createAtomic(*htmlOut); err != nil {
			return 2, fmt.Errorf("%w: -html: %v", errUsage, err)
		}
		defer page.abort()
	}

	rep := harness.Run(p, opts)
	if page != nil {
		title := fmt.Sprintf("%s: %s, rules %s", filepath.Base(file), p.Variants, onOff(*rules))
		if err := timeline.Render(page, rep, title); err != nil {
			return 1, fmt.Errorf("-html: %v", err)
		}
		if err := page.commit(); err != nil {
			return 1, fmt.Errorf("-html: %v", err)
		}
	}
	if crash != nil {
		fmt.Fprintf(out, "CRASH FILE\n%s, %s: its program and schedule bytes\n\n", file, crash.engine)
	}
	fmt.Fprintf(out, "PROGRAM\n%s\nVARIANTS\n%s (rules %v)\n\nVERDICT\n%s\nSTORY\n%s\nSCHEDULE\n%s\n\n",
		p, p.Variants, *rules, rep.Summary(), rep.Story(*story), rep.Schedule)
	if page != nil {
		fmt.Fprintf(out, "TIMELINE\n%s\n\n", *htmlOut)
	}
	// A run that fails in setup records no schedule: replay what it ran.
	again := rep.Schedule
	if again == "" {
		again = *schedule
	}
	if again != "" {
		again = " -schedule " + again
	}
	fmt.Fprintf(out, "To reproduce:\n  go run ./cmd/mmrace replay %s -variants=%s -rules=%v%s\n",
		file, p.Variants, *rules, again)
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

// atomicFile is written under a temporary name in the destination's
// directory and renamed into place by commit, so that the destination is
// either the whole new file or untouched.
type atomicFile struct {
	*os.File
	dest string
	done bool
}

func createAtomic(dest string) (*atomicFile, error) {
	if fi, err := os.Stat(dest); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", dest)
	}
	f, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &atomicFile{File: f, dest: dest}, nil
}

func (a *atomicFile) commit() error {
	if err := a.Chmod(0o644); err != nil {
		return err
	}
	if err := a.Sync(); err != nil {
		return err
	}
	if err := a.Close(); err != nil {
		return err
	}
	if err := os.Rename(a.Name(), a.dest); err != nil {
		return err
	}
	a.done = true
	return nil
}

// abort removes the temporary file unless commit renamed it.
func (a *atomicFile) abort() {
	if !a.done {
		a.Close()
		os.Remove(a.Name())
	}
}
