// Command mmrace is the mmrace harness's command line: hunt, locks, stress, run,
// replay, minimize, variants and demo. Its help is generated from the table
// of commands below and from each command's flags:
//
//	mmrace help
//	mmrace help run
//	mmrace run -h
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"

	"mmrace/harness"
)

// errUsage marks errors caused by the command line or the input; they exit
// with status exitUsage.
var errUsage = errors.New("usage")

func main() {
	tuneProcs(os.Args[1:])
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// tuneProcs gives mmrace run one P (GOMAXPROCS=1) unless the environment
// sets GOMAXPROCS. Its search is sequential: one execution at a time, and
// in it one task at a time (controlled mode). With a second, idle P every
// hand-off of the baton between task goroutines wakes that P's thread,
// which finds nothing to do and sleeps again (a futex wake and sleep per
// hand-off, about a tenth of the CPU profile); on one P the woken task
// simply runs next. Measured on mmrace run over the corpus: about a
// quarter less wall and CPU time. The executions, their schedules and
// traces are the same on any number of Ps. Set in main, not in the
// command, so that tests calling run in-process keep their own setting.
func tuneProcs(args []string) {
	if len(args) > 0 && args[0] == "run" && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// Exit statuses.
const (
	exitClean    = 0 // nothing found
	exitFinding  = 1 // a violation or a deadlock (or hunt: a variant undetected)
	exitUsage    = 2 // bad command line or input
	exitInternal = 3 // the harness itself failed: mmrace's bug, not the kernel's
)

// exitStatusHelp documents the exit statuses in every help text (and the
// README says the same).
const exitStatusHelp = `exit status:
  0  clean: nothing found (locks: the map completed or was interrupted;
     survivors are information)
  1  a finding: a violation or a deadlock (hunt: a variant went undetected
     or the faithful kernel failed)
  2  usage or input error: a bad flag, a malformed program (one line on
     stderr, nothing written)
  3  internal error of the harness: mmrace's own bug, not the kernel's (or
     mmrace could not write its output)
`

// A command is one mmrace subcommand. Its run function defines its flags
// on e.fs and parses them (e.parse, e.parseFile or e.parseNoArgs) before it
// does anything else: help for the command is its run with -h.
type command struct {
	name  string
	args  string // the positional arguments of its usage line, such as "FILE"
	short string // its line in mmrace help
	long  string // its description in mmrace help NAME
	run   func(e *env, args []string) (int, error)
}

// commands is the one table of commands: dispatch, mmrace help and the
// error for an unknown command all read it.
var commands = []*command{&huntCommand, &checkCommand, &locksCommand, &stressCommand, &mergeCommand, &runCommand, &replayCommand, &minimizeCommand, &diffCommand, &variantsCommand, &demoCommand}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// usageLine is the command's synopsis: "mmrace run [flags] FILE".
func (c *command) usageLine() string {
	return strings.TrimSpace("mmrace " + c.name + " [flags] " + c.args)
}

// env is what a command runs with.
type env struct {
	ctx    context.Context // ends when the caller gives up; hunt and stress add SIGINT
	stdout io.Writer       // the command's result
	stderr io.Writer       // errors and progress
	cmd    *command
	fs     *flag.FlagSet // the command's flags, for its help
}

// gcPercent is the GOGC of the commands that run executions back to back
// (run, stress, hunt): an execution allocates a few tens of kilobytes that
// are garbage when it ends, and the live heap stays a few megabytes, so
// the default (100) collects every hundred or so executions; 400 collects
// a quarter as often, at a peak heap of five times the live one. Measured
// on mmrace run over the corpus: about a tenth less CPU time.
const gcPercent = 400

// tuneGC sets the GC of a command that runs executions back to back
// (gcPercent), unless the environment sets GOGC.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// statusOf is the exit status of one run's report.
func statusOf(rep *harness.Report) int {
	switch {
	case rep.InternalError():
		return exitInternal
	case rep.Verdict.InvalidProgram():
		return exitUsage
	case rep.Finding():
		return exitFinding
	}
	return exitClean
}

// invalidProgram is the usage error of a program whose setup the kernel
// refuses, located at the op's line: "prog.txt:3: setup: ...".
func invalidProgram(file string, rep *harness.Report) error {
	d := strings.TrimPrefix(rep.Verdict.Violation.Detail, "line ")
	return fmt.Errorf("%w: %s:%s", errUsage, file, d)
}

// run executes one command line and returns its exit status (exitClean,
// exitFinding, exitUsage or exitInternal).
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext is run with a context whose end interrupts the long commands
// as SIGINT does.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "mmrace: missing command (try: mmrace hunt, or mmrace help)")
		return exitUsage
	}
	name, args := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) == 0 || name != "help" || slices.Contains([]string{"help", "-h", "-help", "--help"}, args[0]) {
			printUsage(stdout)
			return exitClean
		}
		if len(args) > 1 {
			fmt.Fprintf(stderr, "mmrace: %v: help: expected one command, got %q\n", errUsage, strings.Join(args, " "))
			return exitUsage
		}
		name, args = args[0], []string{"-h"}
	}
	c := lookup(name)
	if c == nil {
		var names []string
		for _, c := range commands {
			names = append(names, c.name)
		}
		fmt.Fprintf(stderr, "mmrace: %v: unknown command %q (commands: %s; mmrace help lists them)\n", errUsage, name, strings.Join(names, ", "))
		return exitUsage
	}
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, cmd: c, fs: flag.NewFlagSet(c.name, flag.ContinueOnError)}
	e.fs.SetOutput(io.Discard)
	status, err := c.run(e, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout, c, e.fs)
		return exitClean
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "mmrace:", err)
		return exitUsage
	case err != nil:
		fmt.Fprintln(stderr, "mmrace:", err)
		return exitInternal
	}
	if status == exitInternal {
		fmt.Fprintln(stderr, "mmrace: MMRACE INTERNAL ERROR: the harness itself failed (see the report). This is a bug in mmrace, not a finding about the kernel.")
	}
	return status
}

// printUsage prints mmrace help: the table of commands.
func printUsage(w io.Writer) {
	fmt.Fprint(w, `usage: mmrace COMMAND [flags] [FILE]

mmrace stress-tests a lock-faithful model of the Linux kernel's
memory-management locking: simulated mm operations run as goroutines under
a controlled scheduler, so every interleaving replays exactly from a short
schedule string (v1.…), and checkers report deadlocks, lock-order
inversions and broken invariants.

commands:
`)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.short)
	}
	fmt.Fprintf(tw, "  help [COMMAND]\tthis text, or a command's usage, description and flags\n")
	tw.Flush()
	fmt.Fprintf(w, "\nFlags may come before or after FILE; -- ends them. mmrace help COMMAND\n(or mmrace COMMAND -h) lists a command's flags with their defaults.\n\n%s", exitStatusHelp)
}

// printHelp prints a command's help: usage line, description, flags with
// their defaults (deprecated aliases left out), exit statuses.
func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n\n", c.usageLine())
	for i, para := range strings.Split(c.long, "\n\n") {
		if i > 0 {
			fmt.Fprintln(w)
		}
		for _, l := range wrap(para, 76) {
			fmt.Fprintln(w, l)
		}
	}
	shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Usage, deprecatedUsage) {
			shown.Var(f.Value, f.Name, f.Usage)
			shown.Lookup(f.Name).DefValue = f.DefValue // not a value set before -h
		}
	})
	header := "flags:"
	if c.args != "" {
		header = "flags (before or after " + c.args + "):"
	}
	fmt.Fprintf(w, "\n%s\n", header)
	shown.SetOutput(w)
	shown.PrintDefaults()
	fmt.Fprintf(w, "\n%s", exitStatusHelp)
}
