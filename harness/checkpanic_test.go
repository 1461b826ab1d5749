package harness

import (
	"strings"
	"testing"

	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// TestPanicInChecksIsInternal: a panic in the checks after the run (which
// run outside any task, where the scheduler's recovery does not reach) is
// an internal error of that run, never a finding, and never the end of the
// caller: a full mmrace locks run once died of a nil dereference in a
// quiescent invariant's message.
func TestPanicInChecksIsInternal(t *testing.T) {
	p, err := kernelsim.Parse("checks", "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nt1: store mm1 0x10 1\nt2: load mm1 0x10\n")
	if err != nil {
		t.Fatal(err)
	}
	beforeChecks = func(*kernelsim.Kernel) { panic("planted") }
	defer func() { beforeChecks = nil }()
	rep := Run(p, Options{Mode: sched.Controlled, Strategy: sched.NewPCT(1, 2, 40)})
	if !rep.InternalError() || rep.Verdict.Outcome == sched.Failed || !strings.Contains(rep.Verdict.Violation.Detail, "panic in the harness's checks: planted") {
		t.Fatalf("verdict %+v, phase %q", rep.Verdict, rep.Phase)
	}
}
