package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/stress"
)

var stressCommand = command{
	name:  "stress",
	short: "long runs of random programs on every core, findings deduplicated",
	long: `Stress runs random programs on every core for -duration, in controlled
mode (every run replayable) or free mode (truly parallel, not
replayable), deduplicates what fails by invariant signature and writes one
reproducer per distinct finding under -out. Progress goes to stderr, the
summary (or -json) to stdout. Ctrl-C (SIGINT) ends it early with the
summary.

-reach (controlled mode) also measures the reach matrix: for every lock
class and every pair of kernel paths that take a lock of that class, in
how many runs two tasks ran the two paths on one lock concurrently (the
second came to the lock while the op of the first, which had taken it,
was still at work). It prints the
matrix per class, the empty cells the kernel allows (what the search never
tried: the generators' gaps, and apart, with the reason of each, those the
model has no path for), and the cells judged impossible with the reason of
each; -json lists every cell. With -reach, half of the programs drawn from
templates come from the templates that reached the rarest cells so far
(fewer than 32 runs of the worker), each rare cell's weight shared by the
templates that reached it: the narrow windows get more tries, and so do
the empty cells beside them; -directed=false keeps the plain draw.`,
	run: stressCmd,
}

// progressEvery is how often stress prints a progress line when stderr is
// not a terminal.
const progressEvery = 30 * time.Second

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stressCmd is `mmrace stress`: random programs on every core for a
// duration (or until SIGINT), deduplicated findings, reproducers written.
func stressCmd(e *env, args []string) (int, error) {
	fs := e.fs
	mode := fs.String("mode", "controlled", "scheduling `mode`: controlled or free")
	strategy := fs.String("strategy", "pct", "controlled mode's `strategy`: pct, random or bytes")
	dur := fs.Duration("duration", time.Minute, "how long to run (SIGINT ends earlier with a summary)")
	variants := fs.String("variants", "", "comma-separated `variants` (default: the faithful kernel)")
	rules := fs.Bool("rules", true, "rule checks and lockdep on; -rules=false is semantic-only")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel `workers`")
	outDir := fs.String("out", "stress-out", "`directory` for reproducers (one per distinct finding)")
	seed := fs.Uint64("seed", 1, "`seed`")
	runs := fs.Int64("runs", 0, "stop after the executions 0..`N`-1 of the run (this shard's share; 0: no budget, only -duration)")
	shard := fs.String("shard", "", "run shard `i/N` of the run: the executions whose index is i mod N (merge shards with mmrace merge)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	measureReach := fs.Bool("reach", false, "measure and print the reach matrix (controlled mode)")
	directed := fs.Bool("directed", true, "with -reach, draw half of the template programs from the templates that reached the rarest cells so far")
	cpuprof := fs.String("cpuprofile", "", "write a CPU profile to `file`")
	memprof := fs.String("memprofile", "", "write a heap profile to `file` at the end")
	if err := e.parseNoArgs(args); err != nil {
		return exitUsage, err
	}
	tuneGC()
	out := e.stdout
	o := stress.Options{Strategy: *strategy, SemanticOnly: !*rules, Workers: *workers, OutDir: *outDir, Seed: *seed, Reach: *measureReach, Directed: *directed}
	switch *mode {
	case "controlled":
	case "free":
		if *measureReach {
			return exitUsage, fmt.Errorf("%w: stress: -reach needs controlled mode", errUsage)
		}
		o.Mode, o.YieldOneIn = sched.Free, 4
	default:
		return exitUsage, fmt.Errorf("%w: stress: -mode must be controlled or free, got %q", errUsage, *mode)
	}
	if *strategy != "pct" && *strategy != "random" && *strategy != "bytes" {
		return exitUsage, fmt.Errorf("%w: stress: -strategy must be pct, random or bytes, got %q", errUsage, *strategy)
	}
	if *dur <= 0 || *workers <= 0 {
		return exitUsage, fmt.Errorf("%w: stress: -duration and -workers must be positive", errUsage)
	}
	if *runs < 0 {
		return exitUsage, fmt.Errorf("%w: stress: -runs must not be negative", errUsage)
	}
	o.Runs = *runs
	var err error
	if *shard != "" {
		if o.Shard, err = stress.ParseShard(*shard); err != nil {
			return exitUsage, fmt.Errorf("%w: -shard: %v", errUsage, err)
		}
	}
	if o.Variants, err = kernelsim.ParseVariants(*variants); err != nil {
		return exitUsage, fmt.Errorf("%w: -variants: %v", errUsage, err)
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return exitUsage, fmt.Errorf("%w: -cpuprofile: %v", errUsage, err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return exitInternal, err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	// A spinner on a terminal; elsewhere (CI logs, pipes) one plain line
	// every progressEvery, since a spinner's redraws would flood the log.
	var bar *progressbar.ProgressBar
	if isTerminal(e.stderr) {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetWidth(10),
			progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish())
	}
	lastLine := -progressEvery // the first report prints at once
	res, err := stress.Run(ctx, o, func(s stress.Stats) {
		line := fmt.Sprintf("%s: %d executions, %.0f/s, %d failures, %d distinct", *mode, s.Executions,
			float64(s.Executions)/s.Elapsed.Seconds(), s.Failures, s.Distinct)
		if bar != nil {
			bar.Describe(line)
			bar.Add(0)
			return
		}
		if s.Elapsed-lastLine >= progressEvery {
			// The log's lines sample the process too, so a long run shows
			// whether goroutines or memory grow (issue 12's 10-minute check).
			lastLine = s.Elapsed
			fmt.Fprintf(e.stderr, "[%s] %s; goroutines %d, RSS %d kB\n", s.Elapsed.Round(time.Second), line, s.Goroutines, s.RSSKB)
		}
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return exitInternal, err
	}
	if *memprof != "" {
		f, err := os.Create(*memprof)
		if err == nil {
			runtime.GC()
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	if *asJSON {
		if err := writeJSON(out, res); err != nil {
			return exitInternal, err
		}
	} else {
		how := "ran"
		if res.Interrupted {
			how = "interrupted after"
		}
		fmt.Fprintf(out, "stress (%s mode, %s, shard %s): %s %.0fs, %d executions (%.0f/s; %.0f/s per worker, %d workers), %d failures, %d distinct\n", res.Mode, o.Variants, res.Shards[0], how, res.Seconds, res.Executions, res.PerSecond, res.PerWorker, res.Workers, res.Failures, len(res.Findings))
		fmt.Fprintf(out, "goroutines %d -> %d; RSS %d kB -> %d kB\n", res.GoroutinesStart, res.GoroutinesEnd, res.RSSStartKB, res.RSSEndKB)
		for _, f := range res.Findings {
			fmt.Fprintf(out, "  %5d × %s\n        %s\n", f.Count, f.Signature, f.Reproducer)
		}
		if res.InternalErrors > 0 {
			fmt.Fprintf(out, "MMRACE INTERNAL ERROR in %d runs (the harness failed; not findings). The first:\n%s\n", res.InternalErrors, res.FirstInternal)
		}
		if res.Reach != nil {
			fmt.Fprintln(out)
			res.Reach.Write(out)
		}
	}
	switch {
	case res.InternalErrors > 0:
		return exitInternal, nil
	case len(res.Findings) > 0:
		return exitFinding, nil
	}
	return exitClean, nil
}
