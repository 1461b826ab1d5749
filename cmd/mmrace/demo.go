package main

import (
	"fmt"
	"os"

	"mmrace/internal/lockprog"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// demoProgram is the VMA-read-lock vs mmap_lock deadlock of reference D.11b:
// a fault holding a VMA read lock must only trylock mmap_lock.
const demoProgram = `# t1 is a page fault holding vma V1's read lock that (wrongly) blocks on
# mmap_read_lock; t2 holds mmap_lock for write and waits in vma_start_write
# for t1 to drop its read lock. Reference D.11b.
t1: vma_read V1
t1: mmap_read_lock M
t1: mmap_read_unlock M
t1: vma_end_read V1
t2: mmap_write_lock M
t2: vma_start_write V1
t2: mmap_write_unlock M
`

var demoCommand = command{
	name:  "demo",
	short: "run a small lock program under the controlled scheduler",
	long: `Demo runs a small program of bare lock operations (by default the
VMA-read-lock vs mmap_lock deadlock of reference D.11b; -file runs another)
under PCT schedules until one fails, and prints its verdict, trace and
replay string. -schedule replays one schedule; -rules turns on the static
lock order and lockdep, which report the bug at the breach, before it
deadlocks.`,
	run: demo,
}

func demo(e *env, args []string) (int, error) {
	fs := e.fs
	file := fs.String("file", "", "run the lock program in `FILE` instead of the built-in one")
	schedule := newScheduleFlag(fs, "replay this schedule `v1.…` instead of searching")
	deprecatedAlias(fs, "replay", "schedule")
	seeds := fs.Int("seeds", 1000, "PCT seeds to try before giving up")
	rules := fs.Bool("rules", false, "turn rule checks and lockdep on (default: semantic-only)")
	if err := e.parseNoArgs(args); err != nil {
		return exitUsage, err
	}
	out := e.stdout
	text, name := demoProgram, "demo"
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return exitUsage, fmt.Errorf("%w: %v", errUsage, err)
		}
		text, name = string(b), *file
	}
	p, err := lockprog.Parse(name, text)
	if err != nil {
		return exitUsage, fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg := ksync.Config{SemanticOnly: !*rules}
	var res sched.Result
	if schedule.given() {
		res = lockprog.Run(p, sched.Options{Strategy: schedule.replay()}, cfg)
	} else {
		for seed := 0; seed < *seeds; seed++ {
			res = lockprog.Run(p, sched.Options{Strategy: sched.NewPCT(uint64(seed), 2, 20)}, cfg)
			if res.Verdict.Outcome != sched.OK {
				fmt.Fprintf(out, "found after %d runs (PCT depth 2)\n\n", seed+1)
				break
			}
		}
	}
	fmt.Fprintf(out, "PROGRAM\n%s\nVERDICT\n%v\n\nTRACE\n%s\nSCHEDULE\n%s\n\nTo reproduce:\n  go run ./cmd/mmrace demo", p, res.Verdict, res.Trace.String(), res.ReplayString())
	if *file != "" {
		fmt.Fprintf(out, " -file %s", *file)
	}
	if *rules {
		fmt.Fprint(out, " -rules")
	}
	fmt.Fprintf(out, " -schedule %s\n", res.ReplayString())
	if res.Verdict.Outcome != sched.OK {
		return exitFinding, nil
	}
	return exitClean, nil
}
