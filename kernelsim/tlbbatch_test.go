package kernelsim_test

import (
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// TestBatchedDebtPromisedOnlyByPayers: an operation answers for reclaim's
// batched flushes only if it called flush_tlb_batched_pending. An mremap
// that grows in place and an mprotect that changes no VMA never do, and
// the kernel needs no flush from them: a translation reclaim still owes
// after they return is reclaim's, and the faithful kernel passes. (Before
// the promise followed the call, the first schedule PCT tried found a
// false tlb-coherence violation at the end of the mremap.) The variant
// flush_tlb_batched_pending-missing still fails the mprotect that does
// change the VMA (corpus/mprotect_beside_reclaims_batched_flush_must_
// flush_the_pending_batch.txt).
func TestBatchedDebtPromisedOnlyByPayers(t *testing.T) {
	p, err := kernelsim.Parse("grow", `mm mm1
setup: mmap mm1 0x10+4 anon rw
setup: store mm1 0x10 1
t1: store mm1 0x10 2
t2: reclaim mm1 0x10
t3: mremap mm1 0x10+4 resize 6
t3: mprotect mm1 0x10+4 rw
`)
	if err != nil {
		t.Fatal(err)
	}
	batched := 0
	for seed := range uint64(3000) {
		rep := harness.Run(p, harness.Options{SemanticOnly: true, MaxSteps: 10000, Strategy: sched.NewPCT(seed, 3, 120)})
		if rep.Verdict.Outcome != sched.OK {
			t.Fatalf("the faithful kernel fails under PCT seed %d:\n%s", seed, rep.Summary())
		}
		if strings.Contains(rep.RunTrace.String(), "tlb_flush_batched") {
			batched++
		}
	}
	if batched == 0 {
		t.Fatal("no run batched a flush: the test no longer exercises the debt")
	}
}
