// Command mmrace is the mmrace harness's command line.
//
//	mmrace hunt                  detect every variant, check the faithful kernel
//	mmrace stress -duration 10m  long runs on every core, findings deduplicated
//	mmrace merge -out DIR S...   combine the summaries of stress shards
//	mmrace run prog.txt          search a program's schedules for a failure
//	mmrace replay prog.txt       re-run a scenario or program; -html draws it
//	mmrace minimize prog.txt     shrink a failure
//	mmrace variants              the modelled kernel bugs
//	mmrace demo                  the lock-level demo
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"mmrace/harness"
)

// errUsage marks errors caused by the command line; they exit with status 2.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitClean    = 0 // nothing found
	exitFinding  = 1 // a violation or a deadlock (or hunt: a variant undetected)
	exitUsage    = 2 // bad command line or input
	exitInternal = 3 // the harness itself failed: mmrace's bug, not the kernel's
)

// statusOf is the exit status of one run's report.
func statusOf(rep *harness.Report) int {
	switch {
	case rep.InternalError():
		return exitInternal
	case rep.Finding():
		return exitFinding
	}
	return exitClean
}

// run executes one command line and returns the exit status: 0 success,
// 1 a finding (violation, deadlock), 2 bad input, 3 an internal error of
// the harness.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "mmrace: missing command (try: mmrace hunt, or mmrace help)")
		return 2
	}
	var err error
	status := 0
	switch args[0] {
	case "demo":
		status, err = demo(args[1:], stdout)
	case "run":
		status, err = runCmd(args[1:], stdout)
	case "replay":
		status, err = replayCmd(args[1:], stdout)
	case "hunt":
		status, err = huntCmd(args[1:], stdout)
	case "stress":
		status, err = stressCmd(args[1:], stdout)
	case "merge":
		status, err = mergeCmd(args[1:], stdout)
	case "minimize":
		status, err = minimizeCmd(args[1:], stdout)
	case "variants":
		status, err = variantsCmd(args[1:], stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q (commands: hunt, stress, merge, run, replay, minimize, variants, demo)", errUsage, args[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "mmrace:", err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	if status == exitInternal {
		fmt.Fprintln(stderr, "mmrace: MMRACE INTERNAL ERROR: the harness itself failed (see the report). This is a bug in mmrace, not a finding about the kernel.")
	}
	return status
}

const usage = `usage: mmrace <command> [flags]

commands:
  hunt   search every variant until it is detected (semantic-only and with
         rule checks), minimize each first failure into a corpus scenario
         under -out, run the faithful kernel, print the detection table:
         mmrace hunt [-per-variant 4s] [-faithful 20s] [-out DIR] [-json]
  run    run a kernelsim program FILE under many schedules until one fails:
         mmrace run prog.txt [-variants V] [-rules=false] [-runs N] [-replay S]
  replay re-run a corpus scenario or a program FILE once under its schedule
         line (or -schedule S, followed exactly), print the report, and
         with -html draw the run as a self-contained HTML timeline:
         mmrace replay FILE [-variants V] [-rules=false] [-schedule S] [-html out.html]
         FILE may be a FuzzKernel crash file of go test -fuzz or of a
         libFuzzer binary (ClusterFuzzLite): its program and schedule bytes
  stress long runs on every core, controlled or free mode, findings
         deduplicated, one reproducer each, SIGINT ends with a summary:
         mmrace stress [-mode controlled|free] [-duration 10m] [-variants V] [-json]
         -shard i/N runs the executions i, i+N, i+2N, ... of the run (each a
         pure function of -seed and its index); -runs N stops at index N:
         mmrace stress -shard 0/4 -runs 100000 -duration 1h -json -out s0
  merge  combine the JSON summaries of stress shards into DIR/summary.json,
         reproducers copied and renumbered into DIR:
         mmrace merge -out DIR s0/summary.json s1/summary.json ...
  minimize
         shrink a failing program or FuzzKernel crash file to the ops and
         context switches that matter: mmrace minimize FILE [-variants V]
  demo   run a small lock program under the controlled scheduler and print
         its verdict, trace and replay string
  variants
         list the modelled kernel bugs: name, kernel function, reference and
         what each removes: mmrace variants [-json]
`

// newFlags returns a flag set that reports errors as one line.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}
