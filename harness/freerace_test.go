package harness_test

import (
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// TestFreeModePrivateHugetlbUnmapAgainstMigration: free-mode runs of a
// private hugetlb mapping's final unmap against a migration of its anon
// copy, whose anon rmap walk (anon_vma lock, not i_mmap) reads the
// unmapped VMA's hugetlb lock pointer. The zap used to clear it for a
// private VMA too (the kernel only unlocks the resv_map's lock), a write
// the race detector caught in the nightly's free-mode stress; under
// `make race` this test is that check. The faithful kernel passes.
func TestFreeModePrivateHugetlbUnmapAgainstMigration(t *testing.T) {
	p, err := kernelsim.Parse("test", `mm mm1
file h 32 hugetlb
setup: mmap mm1 0x40+16 h@0x0 private rw
setup: store mm1 0x48 1
setup: fork mm1 mm2
t1: migrate mm2 0x48
t2: munmap mm1 0x40+16
t3: load mm2 0x48
`)
	if err != nil {
		t.Fatal(err)
	}
	n := 300
	if testing.Short() && !raceDetector {
		n = 50
	}
	for i := range n {
		rep := harness.Run(p, harness.Options{Mode: sched.Free, Seed: uint64(i), YieldOneIn: 3, SemanticOnly: true})
		if !rep.OK() {
			t.Fatalf("free-mode run %d:\n%s", i, rep.Summary())
		}
	}
}
