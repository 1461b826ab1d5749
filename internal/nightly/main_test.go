package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mmrace/hunt"
	"mmrace/locks"
	"mmrace/stress"
)

// nightlyDir writes a nightly directory: the status lines and files given.
func nightlyDir(t *testing.T, status string, files map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("status.tsv", []byte(status))
	for name, x := range files {
		if s, ok := x.(string); ok {
			write(name, []byte(s))
			continue
		}
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		write(name, b)
	}
	return dir
}

func detected(inv string) hunt.Detection {
	return hunt.Detection{Detected: true, Executions: 10, Invariant: inv, BranchHits: 3, BranchRuns: 2}
}

// clean is a passing nightly of hunt, locks and stress.
func clean() map[string]any {
	return map[string]any{
		"hunt.json": &hunt.Result{
			Variants: []hunt.VariantResult{
				{Name: "a-variant", Detected: true, Semantic: detected("tlb-coherence"), Rules: detected("lock-rule")},
				{Name: "lock-order-only", Detected: true, Semantic: hunt.Detection{Executions: 100, BranchHits: 5}, Rules: detected("lock-order"), SemanticOnly: "not observable: a lock-order inversion only"},
			},
			Faithful: hunt.Faithful{Executions: 1000},
		},
		"locks.json":             &locks.Report{Mutants: 2, Summary: locks.Summary{All: locks.Tally{Mutants: 2, Killed: 1, NoConsequence: 1, OpenGaps: 1, KillRate: 0.5}}},
		"stress-controlled.json": &stress.Result{Mode: "controlled", Executions: 500},
		"stress-free.json":       &stress.Result{Mode: "free", Executions: 400},
	}
}

const cleanStatus = "hunt\t0\t5\nlocks\t0\t3\nstress-controlled\t0\t6\nstress-free\t0\t6\n"

func kinds(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Part+":"+p.Kind)
	}
	return out
}

func TestJudge(t *testing.T) {
	parts := []string{"hunt", "locks", "stress"}
	for _, tc := range []struct {
		name     string
		status   string
		edit     func(map[string]any)
		parts    []string
		exit     int
		problems string // the kinds of the failures, then of the internal errors
	}{
		{name: "clean", exit: 0},
		{name: "a stress exit 1 without failures", status: strings.Replace(cleanStatus, "stress-free\t0", "stress-free\t1", 1), exit: 3, problems: "|stress-free:internal-error"},
		{name: "undetected variant", edit: func(f map[string]any) {
			f["hunt.json"].(*hunt.Result).Variants[0].Semantic = hunt.Detection{Executions: 12000, BranchHits: 9}
		}, exit: 1, problems: "hunt:undetected-variant"},
		{name: "not exercised", edit: func(f map[string]any) {
			f["hunt.json"].(*hunt.Result).Variants[0].Rules = hunt.Detection{Executions: 12000}
		}, exit: 1, problems: "hunt:undetected-variant"},
		{name: "faithful hunt", edit: func(f map[string]any) {
			f["hunt.json"].(*hunt.Result).Faithful.Violations = 1
		}, exit: 1, problems: "hunt:faithful-failed"},
		{name: "faithful stress", edit: func(f map[string]any) {
			f["stress-free.json"] = &stress.Result{Mode: "free", Executions: 400, Failures: 2, Findings: []stress.Finding{{Signature: "rmap-complete: x", Count: 2}}}
		}, status: strings.Replace(cleanStatus, "stress-free\t0", "stress-free\t1", 1), exit: 1, problems: "stress-free:faithful-failed"},
		{name: "internal error in stress", edit: func(f map[string]any) {
			f["stress-controlled.json"] = &stress.Result{Mode: "controlled", InternalErrors: 1, FirstInternal: "boom"}
		}, status: strings.Replace(cleanStatus, "stress-controlled\t0", "stress-controlled\t3", 1), exit: 3, problems: "|stress-controlled:internal-error"},
		{name: "internal error in locks", edit: func(f map[string]any) {
			f["locks.json"].(*locks.Report).Summary.All.Internal = 1
		}, exit: 3, problems: "|locks:internal-error"},
		{name: "internal error in a killed mutant's search", edit: func(f map[string]any) {
			f["locks.json"].(*locks.Report).Results = []locks.Result{{ID: "Fork:mmap_lock#1@remove", Verdict: locks.Killed, InternalErrors: 2, FirstInternal: "panic"}}
		}, exit: 3, problems: "|locks:internal-error"},
		{name: "no output", edit: func(f map[string]any) { delete(f, "locks.json") }, exit: 3, problems: "|locks:no-output"},
		{name: "malformed output", edit: func(f map[string]any) { f["hunt.json"] = "{" }, exit: 3, problems: "|hunt:no-output"},
		{name: "a step that did not end", status: "hunt\t0\t5\n", exit: 3, problems: "|locks:no-output stress:no-output stress:no-output"},
		{name: "hunt exit 0 but not OK", edit: func(f map[string]any) {
			f["hunt.json"].(*hunt.Result).Faithful.Violations = 1
		}, exit: 3, problems: "hunt:faithful-failed|hunt:internal-error"},
		{name: "failure and internal error", status: strings.Replace(cleanStatus, "hunt\t0", "hunt\t1", 1), edit: func(f map[string]any) {
			f["hunt.json"].(*hunt.Result).Faithful.Violations = 1
			delete(f, "locks.json")
		}, exit: 3, problems: "hunt:faithful-failed|locks:no-output"},
		{name: "data race", parts: []string{"race"}, status: "stress-race\t66\t300\n", edit: func(f map[string]any) {
			f["stress-race.json"] = &stress.Result{Mode: "free", Executions: 10}
			f["stress-race.log"] = "==================\nWARNING: DATA RACE\nRead at ...\n"
		}, exit: 3, problems: "|stress-race:data-race"},
		{name: "race clean", parts: []string{"race"}, status: "stress-race\t0\t300\n", edit: func(f map[string]any) {
			f["stress-race.json"] = &stress.Result{Mode: "free", Executions: 10}
			f["stress-race.log"] = ""
		}, exit: 0},
		{name: "fuzz", parts: []string{"fuzz"}, status: "fuzz-detect\t0\t60\nfuzz-faithful\t0\t60\n", edit: func(f map[string]any) {
			f["fuzz-detect/results.tsv"] = "variant\tstatus\tseconds\texecs\tinvariant\tcrasher\na\tfound\t1.5\t300\ttlb-coherence\tx\nb\tnot-found\t6\t9000\t-\t-\n"
			f["fuzz-faithful.log"] = "ok  \tmmrace/fuzz\t6.0s\n"
		}, exit: 0},
		{name: "fuzz internal", parts: []string{"fuzz"}, status: "fuzz-detect\t0\t60\nfuzz-faithful\t1\t60\n", edit: func(f map[string]any) {
			f["fuzz-detect/results.tsv"] = "variant\tstatus\tseconds\texecs\tinvariant\tcrasher\na\tinternal-error\t1.5\t300\tinternal-error\tx\nb\terror\t-\t-\t-\t-\n"
			f["fuzz-faithful.log"] = "--- FAIL: FuzzKernel (3.00s)\n"
		}, exit: 3, problems: "fuzz:faithful-failed|fuzz:internal-error fuzz:no-output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := clean()
			if tc.edit != nil {
				tc.edit(files)
			}
			st := tc.status
			if st == "" {
				st = cleanStatus
			}
			// hunt's exit status is what hunt.json says, except where the
			// case is their disagreement.
			if h, ok := files["hunt.json"].(*hunt.Result); ok && !h.OK() && !strings.Contains(tc.name, "hunt exit 0") {
				st = strings.Replace(st, "hunt\t0", "hunt\t1", 1)
			}
			ps := parts
			if tc.parts != nil {
				ps = tc.parts
			}
			v := Judge(nightlyDir(t, st, files), ps)
			got := strings.Join(kinds(v.Failures), " ")
			if len(v.InternalErrors) > 0 {
				got += "|" + strings.Join(kinds(v.InternalErrors), " ")
			}
			if v.Exit != tc.exit || got != tc.problems {
				t.Errorf("exit %d, problems %q; want exit %d, %q\n%+v", v.Exit, got, tc.exit, tc.problems, v)
			}
			var md bytes.Buffer
			v.Markdown(&md)
			if !strings.Contains(md.String(), "**"+strings.ToUpper(v.Verdict)+"** (exit ") {
				t.Errorf("summary.md lacks the verdict:\n%s", md.String())
			}
		})
	}
}

// TestRunUsage: bad flags and directories are exit 2; a judged directory
// gets verdict.json and summary.md.
func TestRunUsage(t *testing.T) {
	var out, errs bytes.Buffer
	for _, args := range [][]string{{}, {"-dir", filepath.Join(t.TempDir(), "none")}, {"-dir", t.TempDir(), "-parts", "hunt,bogus"}, {"-bogus"}} {
		if code := run(args, &out, &errs); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	files := clean()
	dir := nightlyDir(t, cleanStatus, files)
	os.WriteFile(filepath.Join(dir, "budgets.txt"), []byte("hunt: -per-variant 2000ms\n"), 0o644)
	out.Reset()
	if code := run([]string{"-dir", dir, "-scale", "0.01", "-commit", "abc", "-parts", "hunt locks stress"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	var v Verdict
	b, err := os.ReadFile(filepath.Join(dir, "verdict.json"))
	if err != nil || json.Unmarshal(b, &v) != nil {
		t.Fatalf("verdict.json: %v\n%s", err, b)
	}
	if v.Verdict != "pass" || v.Scale != "0.01" || v.Commit != "abc" || v.Hunt.AsExpected != 2 || len(v.Stress) != 2 || v.Budgets[0] != "hunt: -per-variant 2000ms" {
		t.Errorf("verdict.json: %+v", v)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	for _, want := range []string{"**PASS** (exit 0)", "2 of 2 variants detected as expected", "lock-order-only: not observable", "kill rate over exercised mutants 1/2 = 50% (lock sites -", "- hunt: -per-variant 2000ms"} {
		if !strings.Contains(string(md), want) || !strings.Contains(out.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
}
