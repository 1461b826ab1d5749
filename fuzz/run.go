package fuzz

import (
	"fmt"
	"hash/fnv"
	"os"
	"strings"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// Config is what a fuzz run checks, read from the environment so that CI can
// fuzz each variant: MMRACE_VARIANTS (comma-separated; empty is the faithful
// kernel) and MMRACE_SEMANTIC_ONLY=1 (no rule checks).
type Config struct {
	Variants     kernelsim.Variants
	SemanticOnly bool
}

// ConfigFromEnv reads Config from the environment.
func ConfigFromEnv() (Config, error) {
	v, err := kernelsim.ParseVariants(os.Getenv("MMRACE_VARIANTS"))
	if err != nil {
		return Config{}, fmt.Errorf("MMRACE_VARIANTS: %v", err)
	}
	return Config{Variants: v, SemanticOnly: os.Getenv("MMRACE_SEMANTIC_ONLY") == "1"}, nil
}

// MaxSteps bounds a fuzz run; with the wall-clock watchdog it keeps every
// input far inside go test -fuzz's 10 s limit.
const MaxSteps = 20_000

// Run decodes data and runs it under cfg, as Exec does.
func Run(data []byte, cfg Config) *harness.Report {
	p, schedBytes := Decode(data)
	p.Variants = cfg.Variants
	return Exec(p, schedBytes, harness.Options{SemanticOnly: cfg.SemanticOnly, MaxSteps: MaxSteps})
}

// StaleCopyRuns is how many PCT runs with windows Exec gives an input whose
// run made a stale copy.
const StaleCopyRuns = 2000

// Exec runs program p under the schedule part sb of a fuzz input (opts'
// Strategy is replaced by FuzzerStrategy(p, sb)), as FuzzKernel, and mmrace
// replay and minimize of its crash files, run an input. When that run ends
// clean but made a stale copy (a task copied a page while another task
// could still store to it through a writable translation,
// kernelsim.Kernel.StaleCopies), Exec also runs p under StaleCopyRuns PCT
// schedules with windows (sched.PCT.Windows), seeded from p and sb, and
// returns the first of them that fails, if one does.
//
// Why: a store lost to a stale copy (D.12c, fork copying a parent VMA that
// is not write-locked) needs a parent thread to store through its stale
// translation after the child's COW copied the page and before the flush.
// PCT with windows hits that in about one run of the program in 1,000
// (harness/windows_test.go; one in 250 before it also preempted at
// lockless page-table reads), so 2,000 runs hit it with probability about
// 0.86 (500 runs, 0.39: with 119 templates go test -fuzz then missed
// dup_mmap-no-parent-vma-write-lock in 120 s twice in two runs; with 2,000
// it found it in 40 and 90 s); the fuzzer's mutations of one input's schedule
// bytes are no such distribution, and a stale copy leaves no coverage for
// it to follow (its edges are those of a clean COW). Stale copies are rare
// (none in 20,000 random inputs of the faithful kernel; 3 in 10,000 PCT
// draws of D.12c's variant), and count only where the holder has a store
// to come (kernelsim.Kernel.PlanStores: a holder whose stores are done,
// such as the setup's task running a fork, can lose none in that run;
// without that test one 120 s fuzz run spent 45 s amplifying such runs,
// though another schedule of the program may still lose a store: side by
// side under go test -fuzz the test made no difference to finding D.12c),
// so this
// costs the fuzzer almost nothing, the
// way hunt's search gives such a program windowSchedules runs at once.
// Exec is a pure function of (p, sb, opts): a crash file replays.
func Exec(p *kernelsim.Program, sb []byte, opts harness.Options) *harness.Report {
	opts.Strategy = FuzzerStrategy(p, sb)
	rep := harness.Run(p, opts)
	if rep.Finding() || rep.InternalError() || rep.Verdict.InvalidProgram() || rep.Kernel == nil || rep.Kernel.StaleCopies() == 0 {
		return rep
	}
	h := fnv.New64a()
	h.Write([]byte(p.String()))
	h.Write(sb)
	seed, k := h.Sum64(), rep.Steps*5/4+10
	opts.Reuse = nil
	amp, _ := harness.Search(p, opts, func(i int) sched.Strategy {
		pct := sched.NewPCT(seed+uint64(i), 2+i%2, k)
		pct.Windows = true
		return pct
	}, StaleCopyRuns)
	if amp.Finding() || amp.InternalError() {
		return amp
	}
	return rep
}

// Dump is the sectioned failure report: PROGRAM, VARIANTS, SCHEDULE,
// VIOLATION, NARRATIVE, TRACE, then the commands that reproduce and
// minimize it. The PROGRAM section is a complete reproducer (it pins the schedule); save it
// and run the printed commands.
func Dump(rep *harness.Report, cfg Config) string {
	p := *rep.Program
	p.Schedule = rep.Schedule
	rules := "on"
	flag := ""
	if cfg.SemanticOnly {
		rules, flag = "off (semantic-only)", " -rules=false"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "===== PROGRAM =====\n%s", p.String())
	fmt.Fprintf(&b, "===== VARIANTS =====\n%s (rule checks %s)\n", cfg.Variants, rules)
	fmt.Fprintf(&b, "===== SCHEDULE =====\n%s\n", rep.Schedule)
	fmt.Fprintf(&b, "===== VIOLATION =====\n%s", rep.Summary())
	fmt.Fprintf(&b, "===== NARRATIVE =====\n%s", rep.Narrative(10))
	fmt.Fprintf(&b, "===== TRACE (last 15 events) =====\n%s", rep.RunTrace.Tail(15))
	again := ""
	if rep.Schedule != "" { // a run that failed in setup has none: any run reproduces it
		again = " -schedule " + rep.Schedule
	}
	fmt.Fprintf(&b, "To reproduce (save PROGRAM as prog.txt):\n  go run ./cmd/mmrace run prog.txt -variants=%s%s%s\n", cfg.Variants, flag, again)
	fmt.Fprintf(&b, "To minimize:\n  go run ./cmd/mmrace minimize prog.txt -variants=%s%s\n", cfg.Variants, flag)
	return b.String()
}
