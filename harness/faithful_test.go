package harness_test

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// execs returns how many executions a property makes: MMRACE_EXECS when
// set (the 100,000-execution run of the issue), else n (CI), n/10 in -short.
func execs(n int) int {
	if s := os.Getenv("MMRACE_EXECS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			return v
		}
	}
	if testing.Short() {
		return n / 10
	}
	return n
}

// TestFaithfulPCT: random concurrent programs of the fuzz decoder
// (fuzz.Generate: a template's address space and 3-4 tasks of its ops)
// under PCT keep every invariant on the faithful kernel, with rule checks
// and lockdep on (and a third of them semantic-only).
func TestFaithfulPCT(t *testing.T) {
	n := execs(3000)
	steps, ops := 0, 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		p := fuzz.Generate(rng, 3+i%2)
		depth := 2 + i%2
		opts := harness.Options{Strategy: sched.NewPCT(uint64(i), depth, 60*p.Ops()), SemanticOnly: i%3 == 2}
		rep := harness.Run(p, opts)
		if !rep.OK() {
			t.Fatalf("execution %d (PCT depth %d, seed %d, semantic-only %v) failed:\n%s\nprogram:\n%s\nreplay: %s\nstory:\n%s",
				i, depth, i, opts.SemanticOnly, rep.Summary(), p, rep.Schedule, rep.Story(40))
		}
		steps += rep.Steps
		ops += p.Ops()
	}
	t.Logf("%d executions on the faithful kernel, no violation; %.1f ops and %.1f scheduling points per execution", n, float64(ops)/float64(n), float64(steps)/float64(n))
}

// TestGeneratedProgramsRoundTrip: generated programs (fuzz.Generate, 2-4
// tasks: more than the decoder's own 2-3) print and parse back.
func TestGeneratedProgramsRoundTrip(t *testing.T) {
	for i := 0; i < 2000; i++ {
		p := fuzz.Generate(rand.New(rand.NewPCG(uint64(i), 9)), 2+i%3)
		q, err := kernelsim.Parse("gen", p.String())
		if err != nil {
			t.Fatalf("program %d: %v\n%s", i, err, p)
		}
		if q.String() != p.String() {
			t.Fatalf("program %d does not round-trip:\n%s\n---\n%s", i, p, q)
		}
	}
}

// TestExpandInPlaceIsFreshMemory: mremap growing a VMA in place over pages
// an earlier mapping held gives fresh (zero) memory there, and the memory
// log says so: without its MemZero the memory-contents check held a load
// there to the value stored before the munmap (a false finding on the
// faithful kernel, found by the stress of a two-VMA template).
func TestExpandInPlaceIsFreshMemory(t *testing.T) {
	p, err := kernelsim.Parse("expand", "mm mm1\nsetup: mmap mm1 0x10+8 anon rw\nsetup: store mm1 0x15 3\nsetup: munmap mm1 0x14+4\n"+
		"setup: mremap mm1 0x10+4 resize 8\nt1: load mm1 0x15\n")
	if err != nil {
		t.Fatal(err)
	}
	if rep := harness.Run(p, harness.Options{}); !rep.OK() {
		t.Fatalf("%s", rep.Summary())
	}
}
