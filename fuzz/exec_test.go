package fuzz

import (
	"encoding/binary"
	"testing"

	"mmrace/harness"
	"mmrace/internal/scenario"
	"mmrace/kernelsim"
)

// TestExecAmplifiesStaleCopies: D.12c's corpus program under its variant,
// with PCT draws as schedule parts. A draw whose own run ends clean but
// made a stale copy gets StaleCopyRuns more PCT runs with windows from
// Exec, which find the lost store for some such draw; Exec is a pure
// function of the program and the schedule part (a crash file replays);
// and the faithful kernel, which makes no stale copy there, gets no extra
// runs.
func TestExecAmplifiesStaleCopies(t *testing.T) {
	p, err := scenario.ReadProgram("../corpus/dup_mmap_copies_a_parent_vma_that_is_not_write_locked.txt")
	if err != nil {
		t.Fatal(err)
	}
	p.Schedule = ""
	variant := *p
	variant.Variants = kernelsim.Variants{"dup_mmap-no-parent-vma-write-lock": true}
	faithful := *p
	faithful.Variants = nil
	opts := harness.Options{SemanticOnly: true, MaxSteps: MaxSteps}
	draw := func(seed uint64) []byte {
		sb := append(append([]byte(nil), PCTTag...), 0x81) // depth 2, windows
		return binary.LittleEndian.AppendUint64(sb, seed)
	}
	stale, found := 0, 0
	for seed := uint64(0); seed < 3000 && found == 0; seed++ {
		sb := draw(seed)
		one := harness.Run(&variant, harness.Options{SemanticOnly: true, MaxSteps: MaxSteps, Strategy: Strategy(&variant, sb)})
		if one.Finding() || one.InternalError() || one.Kernel.StaleCopies() == 0 {
			if f := harness.Run(&faithful, harness.Options{SemanticOnly: true, MaxSteps: MaxSteps, Strategy: Strategy(&faithful, sb)}); f.Kernel.StaleCopies() != 0 {
				t.Fatalf("the faithful kernel made a stale copy under draw %d", seed)
			}
			continue
		}
		stale++
		rep := Exec(&variant, sb, opts)
		if rep.InternalError() {
			t.Fatalf("draw %d: %s", seed, rep.Summary())
		}
		if !rep.Finding() {
			continue
		}
		found++
		again := Exec(&variant, sb, opts)
		if !again.Finding() || again.Schedule != rep.Schedule || again.Verdict.Violation.Invariant != rep.Verdict.Violation.Invariant {
			t.Fatalf("draw %d: Exec is not deterministic: %q %s, then %q %s", seed, rep.Schedule, rep.Summary(), again.Schedule, again.Summary())
		}
		t.Logf("draw %d (the %d-th with a stale copy): %s", seed, stale, rep.Verdict.Violation.Invariant)
	}
	if found == 0 {
		t.Fatalf("Exec found the lost store for none of %d draws with a stale copy", stale)
	}
}
