package minimize_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/minimize"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMinimizeAddsNothing: a bloated failing program of the move_ptes variant
// shrinks to the ops that matter and still fails the same way; the faithful
// kernel passes the minimized program.
func TestMinimize(t *testing.T) {
	src := `mm mm1
file file1 16
setup: mmap mm1 0x10+8 anon rw
setup: store mm1 0x10 1
setup: store mm1 0x11 2
setup: store mm1 0x15 3
setup: mmap mm1 0x38+4 file1@0x0 shared rw
setup: mremap mm1 0x14+4 -> 0x20
t1: load mm1 0x38
t1: mremap mm1 0x20+4 -> 0x14
t1: store mm1 0x11 9
t2: fault mm1 0x39 write
t2: migrate mm1 0x21
t2: load mm1 0x15
t3: reclaim mm1 0x38
t3: load mm1 0x10
`
	p, err := kernelsim.Parse("bloated", src)
	if err != nil {
		t.Fatal(err)
	}
	p.Variants = kernelsim.Variants{"move_ptes-skip-rmap-locks": true}
	opts := harness.Options{SemanticOnly: true}
	rep, n := harness.Search(p, opts, func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 3, 200) }, 20000)
	if !rep.Finding() {
		t.Fatalf("no failure in %d runs", n)
	}
	start := time.Now()
	res := minimize.Minimize(p, rep, minimize.Options{Budget: 60 * time.Second, Run: opts})
	t.Logf("found after %d runs (%d ops); minimized in %v and %d runs to %d ops, %d switches:\n%s\n%s",
		n, p.Ops(), time.Since(start).Round(time.Millisecond), res.Runs, res.Program.Ops(), res.Switches, res.Program, res.Report.Narrative(10))
	if res.Report.Verdict.Violation.Invariant != rep.Verdict.Violation.Invariant {
		t.Fatalf("minimized run fails differently: %v", res.Report.Verdict)
	}
	if res.Program.Ops() > 8 {
		t.Errorf("%d ops after minimization, want at most 8", res.Program.Ops())
	}
	// The written program replays to the same violation; the faithful kernel passes it.
	q, err := kernelsim.Parse("min", res.Program.String())
	if err != nil {
		t.Fatal(err)
	}
	if r := harness.Run(q, opts); r.Verdict.Violation.Invariant != rep.Verdict.Violation.Invariant {
		t.Fatalf("the minimized program does not replay: %s", r.Summary())
	}
	q.Variants = nil
	if r := harness.Run(q, harness.Options{}); !r.OK() {
		t.Fatalf("faithful kernel fails the minimized program: %s", r.Summary())
	}
	if os.Getenv("MMRACE_SHOW") != "" {
		t.Log(strings.Repeat("-", 40))
	}
}
