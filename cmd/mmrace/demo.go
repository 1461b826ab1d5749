package main

import (
	"fmt"
	"io"
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

func demo(args []string, out io.Writer) (int, error) {
	fs := newFlags("demo")
	file := fs.String("file", "", "run the lock program in `FILE` instead of the built-in one")
	replay := fs.String("replay", "", "replay this schedule (a v1. string) instead of searching")
	seeds := fs.Int("seeds", 1000, "PCT seeds to try before giving up")
	rules := fs.Bool("rules", false, "turn rule checks and lockdep on (default: semantic-only)")
	if err := parseFlags(fs, args); err != nil {
		return 2, err
	}
	text, name := demoProgram, "demo"
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return 2, fmt.Errorf("%w: %v", errUsage, err)
		}
		text, name = string(b), *file
	}
	p, err := lockprog.Parse(name, text)
	if err != nil {
		return 2, fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg := ksync.Config{SemanticOnly: !*rules}
	var res sched.Result
	if *replay != "" {
		s, err := sched.ParseSchedule(*replay)
		if err != nil {
			return 2, fmt.Errorf("%w: -replay: %v", errUsage, err)
		}
		res = lockprog.Run(p, sched.Options{Strategy: sched.NewReplay(s)}, cfg)
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
	fmt.Fprintf(out, " -replay %s\n", res.ReplayString())
	if res.Verdict.Outcome != sched.OK {
		return 1, nil
	}
	return 0, nil
}
