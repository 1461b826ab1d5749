package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/hunt"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// d11b is the README's program: under vmf_anon_prepare-blocking-mmap-lock
// (semantic-only) some schedules deadlock.
const d11b = "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nt1: fault mm1 0x10 write\nt2: mprotect mm1 0x12+2 r\n"

const d11bVariant = "vmf_anon_prepare-blocking-mmap-lock"

func writeProgram(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFlagsAnywhere: flags before, after and around FILE mean the same;
// -- ends the flags.
func TestFlagsAnywhere(t *testing.T) {
	prog := writeProgram(t, "d11b.txt", d11b)
	flags := []string{"-variants", d11bVariant, "-rules=false", "-runs", "200"}
	code, want, errs := runMain(append([]string{"run", prog}, flags...)...)
	if code != exitFinding || errs != "" {
		t.Fatalf("run FILE flags: exit %d, stderr %q\n%s", code, errs, want)
	}
	for _, args := range [][]string{
		append(append([]string{"run"}, flags...), prog),
		{"run", "-variants", d11bVariant, prog, "-rules=false", "-runs", "200"},
		{"run", "-variants=" + d11bVariant, "-rules=false", "-runs=200", "--", prog},
		{"run", "--variants", d11bVariant, "--rules=false", prog, "--runs", "200"},
	} {
		code, out, errs := runMain(args...)
		if code != exitFinding || errs != "" || out != want {
			t.Errorf("%v: exit %d, stderr %q, output differs:\n%s", args, code, errs, out)
		}
	}
	// After --, everything is an argument, even what looks like a flag.
	dash := writeProgram(t, "-dash.txt", d11b)
	if code, out, errs := runMain("run", "-runs", "3", "--", dash); code != exitClean || errs != "" || !strings.Contains(out, "VERDICT after 3 run(s)") {
		t.Errorf("run -- -dash.txt: exit %d, stderr %q\n%s", code, errs, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", prog, "--", "-runs", "5"}, `unexpected argument "-runs"`},
		{[]string{"run", prog, prog}, "unexpected argument"},
		{[]string{"run", "-runs"}, "flag needs an argument: -runs"},
		{[]string{"run", "-rules=false", "-runs", "5"}, "expected a program file"},
		{[]string{"variants", "extra"}, `unexpected argument "extra"`},
	} {
		code, out, errs := runMain(tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", tc.args, code, out, errs, tc.want)
		}
	}
}

// TestScheduleAlias: -schedule is the replay string's name in run, replay
// and demo; the old -replay still works and means the same.
func TestScheduleAlias(t *testing.T) {
	prog := writeProgram(t, "d11b.txt", d11b)
	_, out, _ := runMain("run", prog, "-variants", d11bVariant, "-rules=false", "-runs", "200")
	cmd := reproduceCommand(t, out)
	if !strings.Contains(strings.Join(cmd, " "), " -schedule v1.") {
		t.Fatalf("the reproduce command does not use -schedule: %v", cmd)
	}
	schedule := cmd[len(cmd)-1]
	for _, base := range [][]string{
		{"run", prog, "-variants", d11bVariant, "-rules=false"},
		{"replay", prog, "-variants", d11bVariant, "-rules=false"},
		{"demo"},
	} {
		s := schedule
		if base[0] == "demo" {
			_, dout, _ := runMain("demo")
			f := strings.Fields(dout[strings.LastIndex(dout, "go run ./cmd/mmrace demo"):])
			s = f[len(f)-1]
		}
		code1, out1, errs1 := runMain(append(base, "-schedule", s)...)
		code2, out2, errs2 := runMain(append(base, "-replay", s)...)
		if code1 != exitFinding || code1 != code2 || out1 != out2 || errs1 != "" || errs2 != "" {
			t.Errorf("%v: -schedule exits %d, -replay %d (stderr %q %q); outputs:\n%s\n---\n%s", base, code1, code2, errs1, errs2, out1, out2)
		}
		if strings.Contains(out1, "-replay") {
			t.Errorf("%v: prints -replay:\n%s", base, out1)
		}
	}
}

// TestJSON: run, replay and minimize -json print one JSON verdict on
// stdout, and exit as the text form does.
func TestJSON(t *testing.T) {
	prog := writeProgram(t, "d11b.txt", d11b)
	decode := func(args []string, v any) int {
		t.Helper()
		code, out, errs := runMain(args...)
		if errs != "" {
			t.Fatalf("%v: stderr %q", args, errs)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return code
	}
	var r runJSON
	if code := decode([]string{"run", prog, "-json", "-variants", d11bVariant, "-rules=false", "-runs", "200"}, &r); code != exitFinding {
		t.Fatalf("run -json: exit %d", code)
	}
	if r.Outcome != "deadlock" || r.Invariant == "" || !strings.Contains(r.Detail, "wait-for cycle") || r.Phase != "run" ||
		!strings.HasPrefix(r.Schedule, "v1.") || r.Steps == 0 || r.Runs < 1 || len(r.Narrative) == 0 ||
		r.Variants != d11bVariant || r.Rules || !strings.Contains(r.Program, "t2: mprotect mm1 0x12+2 r") ||
		!strings.HasSuffix(r.Reproduce, "-schedule "+r.Schedule) {
		t.Errorf("run -json: %+v", r)
	}

	// The reproduce command, as JSON: the same verdict.
	var again runJSON
	args := append(strings.Fields(r.Reproduce)[3:], "-json")
	if code := decode(args, &again); code != exitFinding || again.Detail != r.Detail || again.Schedule != r.Schedule || again.Runs != 1 {
		t.Errorf("%v: exit %d, %+v", args, code, again)
	}

	// replay: a clean run has an empty narrative and its refusals.
	clean := writeProgram(t, "clean.txt", "mm mm1\nt1: munmap mm1 0x10+0x4\nt1: fault mm1 0x10 read\nschedule v1.gAFCn73Tbw\n")
	var rp report
	if code := decode([]string{"replay", clean, "-json"}, &rp); code != exitClean {
		t.Fatalf("replay -json: exit %d", code)
	}
	if rp.Outcome != "ok" || rp.Invariant != "" || len(rp.Narrative) != 0 || rp.Narrative == nil || rp.Refused == nil || rp.Variants != "faithful" || !rp.Rules {
		t.Errorf("replay -json: %+v", rp)
	}
	var rf report
	if code := decode([]string{"replay", prog, "-json", "-variants", d11bVariant, "-rules=false", "-schedule", r.Schedule}, &rf); code != exitFinding || rf.Detail != r.Detail {
		t.Errorf("replay -json -schedule: exit %d, %+v", code, rf)
	}

	var m minimizeJSON
	if code := decode([]string{"minimize", prog, "-json", "-variants", d11bVariant, "-rules=false", "-budget", "5s"}, &m); code != exitFinding {
		t.Fatalf("minimize -json: exit %d", code)
	}
	if m.Outcome != "deadlock" || m.OpsBefore != 3 || m.OpsAfter < 1 || m.OpsAfter > m.OpsBefore || m.Runs < 1 || m.Schedule == "" || m.Program == "" {
		t.Errorf("minimize -json: %+v", m)
	}
	// Its reproduce command, on the minimized program saved as min.txt.
	min := writeProgram(t, "min.txt", m.Program)
	args = strings.Fields(m.Reproduce)[3:]
	for i, a := range args {
		if a == "min.txt" {
			args[i] = min
		}
	}
	var mr runJSON
	if code := decode(append(args, "-json"), &mr); code != exitFinding || mr.Invariant != m.Invariant || mr.Schedule != m.Schedule {
		t.Errorf("%v: exit %d, %+v; want the minimized failure %s", args, code, mr, m.Invariant)
	}

	var none minimizeJSON
	if code := decode([]string{"minimize", clean, "-json", "-runs", "5"}, &none); code != exitClean || none.Outcome != "ok" {
		t.Errorf("minimize -json of a clean program: exit %d, %+v", code, none)
	}
}

// interruptingWriter is a stderr that cancels a context at the first
// line written to it.
type interruptingWriter struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (w *interruptingWriter) Write(p []byte) (int, error) {
	w.cancel()
	return w.Buffer.Write(p)
}

// TestHuntProgressAndInterrupt: hunt's progress goes to the stderr it is
// given; interrupted at its first progress line (the first variant done),
// it prints that row, names the variants not searched, and exits with the
// status the finished row deserves.
func TestHuntProgressAndInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &interruptingWriter{cancel: cancel}
	var stdout bytes.Buffer
	code := runContext(ctx, []string{"hunt", "-variants", "move_ptes-skip-rmap-locks,vmf_anon_prepare-blocking-mmap-lock,anon_vma-lock-not-root",
		"-per-variant", "60s", "-runs", "12000", "-faithful", "10s", "-minimize", "1s", "-out", t.TempDir()}, &stdout, stderr)
	out := stdout.String()
	if code != exitClean {
		t.Errorf("exit %d, want %d (the finished variant was detected)", code, exitClean)
	}
	if !strings.HasPrefix(stderr.String(), "vmf_anon_prepare-blocking-mmap-lock ") || strings.Contains(stderr.String(), "VARIANT") {
		t.Errorf("progress on stderr:\n%s", stderr.String())
	}
	for _, want := range []string{
		"\nvmf_anon_prepare-blocking-mmap-lock  deadlock: ",
		"not searched (interrupted): move_ptes-skip-rmap-locks, anon_vma-lock-not-root\n",
		"faithful kernel: not run (interrupted)\n",
		"INTERRUPTED, so far OK: 1 of 3 variants searched, 1 detected; faithful kernel not run",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
}

// TestHuntTableInterrupted: the row interrupted mid-search is marked so,
// and the faithful kernel's partial run says it was interrupted.
func TestHuntTableInterrupted(t *testing.T) {
	res := &hunt.Result{
		Variants: []hunt.VariantResult{
			{Name: "a-done", Detected: true, Semantic: hunt.Detection{Detected: true, Invariant: "inv", Executions: 3}, Rules: hunt.Detection{Detected: true, Invariant: "rule", Executions: 10}},
			{Name: "b-partial", Interrupted: true, Semantic: hunt.Detection{Executions: 7, Interrupted: true}, Rules: hunt.Detection{Interrupted: true}},
		},
		Faithful:    hunt.Faithful{Executions: 5, Interrupted: true},
		Interrupted: true,
	}
	var b bytes.Buffer
	printTable(&b, res, 0)
	for _, want := range []string{
		"\na-done  ",
		"\nb-partial (interrupted)  INTERRUPTED (7 runs)  INTERRUPTED (0 runs)",
		"faithful kernel: INTERRUPTED after 5 executions",
		"INTERRUPTED, so far OK: 2 of 2 variants searched, 1 detected; faithful kernel clean",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, b.String())
		}
	}
	if !res.OK() {
		t.Error("an interrupted, undetected row counts as a failure")
	}
}

// TestStressProgress: stress's progress goes to the stderr it is given
// (not a terminal here: plain lines, the first at once).
func TestStressProgress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runContext(context.Background(), []string{"stress", "-duration", "1500ms", "-workers", "1", "-out", t.TempDir()}, &stdout, &stderr)
	if code != exitClean || !strings.Contains(stderr.String(), "executions") || !strings.Contains(stderr.String(), "goroutines ") || !strings.Contains(stdout.String(), "stress (controlled mode, faithful") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%q", code, stdout.String(), stderr.String())
	}
}

// TestFuzzDumpReproduces: the commands FuzzKernel's failure dump prints
// work when pasted: saving its PROGRAM section and running its "To
// reproduce" command gives the same verdict, for a failure in the
// concurrent phase and for one in setup (which has no schedule).
func TestFuzzDumpReproduces(t *testing.T) {
	p, err := kernelsim.Parse("d11b", d11b)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fuzz.Config{Variants: kernelsim.Variants{d11bVariant: true}, SemanticOnly: true}
	p.Variants = cfg.Variants
	run, _ := harness.Search(p, harness.Options{SemanticOnly: true}, func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 2, 40) }, 500)
	checkDump(t, run, cfg)

	// A crasher that fails in setup with rule checks on (if the model still
	// makes it fail there).
	b, err := os.ReadFile("../../fuzz/testdata/fuzz/FuzzKernel/vmf_anon_prepare-blocking-mmap-lock-b1750d1fa632ee6e")
	if err != nil {
		t.Fatal(err)
	}
	data, err := fuzz.ParseCrasher(string(b))
	if err != nil {
		t.Fatal(err)
	}
	cfg.SemanticOnly = false
	if setup := fuzz.Run(data, cfg); setup.Finding() && setup.Phase == "setup" {
		checkDump(t, setup, cfg)
	} else {
		t.Logf("the crasher no longer fails in setup: %s", setup.Summary())
	}
}

func checkDump(t *testing.T, rep *harness.Report, cfg fuzz.Config) {
	t.Helper()
	if !rep.Finding() {
		t.Fatalf("no failure to dump: %s", rep.Summary())
	}
	dump := fuzz.Dump(rep, cfg)
	prog := dump[strings.Index(dump, "===== PROGRAM =====\n")+len("===== PROGRAM =====\n"):]
	prog = writeProgram(t, "prog.txt", prog[:strings.Index(prog, "=====")])
	i := strings.Index(dump, "To reproduce (save PROGRAM as prog.txt):\n  go run ./cmd/mmrace ")
	if i < 0 {
		t.Fatalf("no reproduce command in\n%s", dump)
	}
	args := strings.Fields(strings.SplitN(dump[i:], "\n", 3)[1])[3:]
	for j, a := range args {
		if a == "prog.txt" {
			args[j] = prog
		}
	}
	code, out, errs := runMain(args...)
	if code != exitFinding || errs != "" || !strings.Contains(out, "\nVERDICT after 1 run(s)\n"+rep.Summary()+"\nSTORY\n") {
		t.Errorf("%v: exit %d, stderr %q, output\n%s\nwant the verdict\n%s", args, code, errs, out, rep.Summary())
	}
}

// TestRunPCTWindows: -strategy pct-windows finds D.12c's lost store in the
// corpus program within 1,000 runs, where plain PCT of the same depth finds
// nothing; it states no PCT confidence (its extra preemptions void the
// bound).
func TestRunPCTWindows(t *testing.T) {
	prog := "../../corpus/dup_mmap_copies_a_parent_vma_that_is_not_write_locked.txt"
	base := []string{"run", prog, "-variants", "dup_mmap-no-parent-vma-write-lock", "-rules=false", "-depth", "2", "-runs", "1000", "-json"}
	code, out, errs := runMain(append(base, "-strategy", "pct-windows")...)
	if code != exitFinding || !strings.Contains(out, `"invariant": "memory-contents"`) {
		t.Fatalf("pct-windows: exit %d, stderr %q\n%s", code, errs, out)
	}
	if code, out, _ := runMain(append(base, "-strategy", "pct")...); code != exitClean {
		t.Fatalf("plain PCT of depth 2 found it in 1000 runs (exit %d): the comparison says nothing\n%s", code, out)
	}
}
