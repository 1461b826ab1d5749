package fuzz

import (
	"fmt"
	"os"
	"strings"

	"mmrace/harness"
	"mmrace/kernelsim"
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

// Run decodes data and runs it under cfg.
func Run(data []byte, cfg Config) *harness.Report {
	p, schedBytes := Decode(data)
	p.Variants = cfg.Variants
	return harness.Run(p, harness.Options{Strategy: Strategy(p, schedBytes), SemanticOnly: cfg.SemanticOnly, MaxSteps: MaxSteps})
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
