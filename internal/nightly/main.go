// Command nightly judges the output directory of scripts/nightly.sh: it
// reads each part's exit status (status.tsv) and its machine-readable
// output — the -json summaries of mmrace hunt, locks and stress, the
// race detector's reports, the fuzz-detect table, the faithful fuzzing's
// log — and writes verdict.json (for tools) and summary.md (for people)
// into the directory. Its exit status is the nightly's:
//
//	0  pass: every variant detected as expected, the faithful kernel clean
//	1  fail: a variant went undetected, or the faithful kernel failed
//	3  internal error: mmrace's own bug (an internal error of the harness,
//	   a data race in mmrace, a part that did not run or wrote no output)
//	2  usage: bad flags, no such directory
//
// Usage: go run ./internal/nightly -dir DIR [-scale S] [-parts "hunt locks ..."]
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"mmrace/hunt"
	"mmrace/internal/atomicfile"
	"mmrace/locks"
	"mmrace/stress"
)

// Parts are the parts of a nightly, in order.
var Parts = []string{"hunt", "locks", "stress", "race", "fuzz"}

// Problem is one reason the nightly did not pass.
type Problem struct {
	Part   string `json:"part"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Problem kinds.
const (
	KindUndetected = "undetected-variant" // a failure
	KindFaithful   = "faithful-failed"    // a failure
	KindInternal   = "internal-error"     // mmrace's own bug
	KindDataRace   = "data-race"          // an internal error too
	KindNoOutput   = "no-output"          // the part did not run as it should: internal
)

// Verdict is verdict.json.
type Verdict struct {
	Verdict        string          `json:"verdict"` // pass, fail, internal-error
	Exit           int             `json:"exit"`
	Scale          string          `json:"scale,omitempty"`
	Commit         string          `json:"commit,omitempty"`
	Parts          []string        `json:"parts"`
	Budgets        []string        `json:"budgets"` // budgets.txt: each step's budgets, scaled
	Seconds        map[string]int  `json:"seconds"` // wall time per step
	Failures       []Problem       `json:"failures"`
	InternalErrors []Problem       `json:"internal_errors"`
	Hunt           *HuntSummary    `json:"hunt,omitempty"`
	Locks          *LocksSummary   `json:"locks,omitempty"`
	Stress         []StressSummary `json:"stress,omitempty"`
	Fuzz           *FuzzSummary    `json:"fuzz,omitempty"`
}

// HuntSummary is what the nightly keeps of hunt.json.
type HuntSummary struct {
	Variants         int      `json:"variants"`
	AsExpected       int      `json:"detected_as_expected"`
	NotAsExpected    []string `json:"not_as_expected"`
	NotObservable    []string `json:"undetected_semantic_only_with_reason"` // the catalogue says why
	FaithfulExecs    int      `json:"faithful_executions"`
	FaithfulFailures int      `json:"faithful_violations"`
	InternalErrors   int      `json:"internal_errors"`
	Reproducers      []string `json:"reproducers"`
}

// LocksSummary is what the nightly keeps of locks.json.
type LocksSummary struct {
	Mutants     int         `json:"mutants"`
	Interrupted bool        `json:"interrupted"`
	All         locks.Tally `json:"all"`
	LockSites   locks.Tally `json:"lock_sites"`
	FlushSites  locks.Tally `json:"flush_sites"`
	Index       string      `json:"index"`
}

// StressSummary is one stress run of the faithful kernel.
type StressSummary struct {
	Name           string   `json:"name"` // stress-controlled, stress-free, stress-race
	Mode           string   `json:"mode"`
	Executions     int64    `json:"executions"`
	Seconds        float64  `json:"seconds"`
	Failures       int64    `json:"failures"`
	Findings       []string `json:"findings"` // signatures
	InternalErrors int64    `json:"internal_errors"`
	RaceReports    int      `json:"race_reports,omitempty"`
}

// FuzzSummary is the fuzz-detect table and the faithful fuzzing.
type FuzzSummary struct {
	Rows     []FuzzRow `json:"variants"`
	Found    int       `json:"found"`
	NotFound []string  `json:"not_found"` // within the budget (information: hunt decides detection)
	Faithful string    `json:"faithful"`  // clean, failed, internal-error, did not run
}

// FuzzRow is one row of fuzz-detect's results.tsv.
type FuzzRow struct {
	Variant   string `json:"variant"`
	Status    string `json:"status"`
	Seconds   string `json:"seconds"`
	Execs     string `json:"execs"`
	Invariant string `json:"invariant"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nightly", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the nightly's output `directory` (required)")
	scale := fs.String("scale", "", "the budget scale the nightly ran at, recorded in the verdict")
	commit := fs.String("commit", "", "the commit, recorded in the verdict")
	parts := fs.String("parts", strings.Join(Parts, " "), "the `parts` the nightly ran, space- or comma-separated")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "nightly: usage: nightly -dir DIR [-scale S] [-commit C] [-parts P]")
		return 2
	}
	if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "nightly: -dir %s: not a directory\n", *dir)
		return 2
	}
	var ps []string
	for _, p := range strings.FieldsFunc(*parts, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(Parts, p) {
			fmt.Fprintf(stderr, "nightly: -parts: unknown part %q (known: %s)\n", p, strings.Join(Parts, " "))
			return 2
		}
		ps = append(ps, p)
	}
	v := Judge(*dir, ps)
	v.Scale, v.Commit = *scale, *commit
	b, _ := json.MarshalIndent(v, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(*dir, "verdict.json"), append(b, '\n')); err != nil {
		fmt.Fprintf(stderr, "nightly: %v\n", err)
		return 3
	}
	var md strings.Builder
	v.Markdown(&md)
	if err := atomicfile.WriteFile(filepath.Join(*dir, "summary.md"), []byte(md.String())); err != nil {
		fmt.Fprintf(stderr, "nightly: %v\n", err)
		return 3
	}
	io.WriteString(stdout, md.String())
	return v.Exit
}

// Judge reads the nightly directory dir, in which parts ran.
func Judge(dir string, parts []string) *Verdict {
	v := &Verdict{Parts: parts, Seconds: map[string]int{}, Failures: []Problem{}, InternalErrors: []Problem{}}
	status := readStatus(dir, v)
	if b, err := os.ReadFile(filepath.Join(dir, "budgets.txt")); err == nil {
		v.Budgets = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	step := func(part, name string) (int, bool) {
		st, ok := status[name]
		if !ok {
			v.internal(part, KindNoOutput, name+": no exit status recorded (the step did not run to its end)")
		}
		return st, ok
	}
	for _, p := range parts {
		switch p {
		case "hunt":
			if st, ok := step(p, "hunt"); ok {
				v.judgeHunt(dir, st)
			}
		case "locks":
			if st, ok := step(p, "locks"); ok {
				v.judgeLocks(dir, st)
			}
		case "stress":
			for _, name := range []string{"stress-controlled", "stress-free"} {
				if st, ok := step(p, name); ok {
					v.judgeStress(dir, name, st, false)
				}
			}
		case "race":
			if st, ok := step(p, "stress-race"); ok {
				v.judgeStress(dir, "stress-race", st, true)
			}
		case "fuzz":
			v.Fuzz = &FuzzSummary{}
			if st, ok := step(p, "fuzz-detect"); ok {
				v.judgeFuzzDetect(dir, st)
			}
			if st, ok := step(p, "fuzz-faithful"); ok {
				v.judgeFuzzFaithful(dir, st)
			}
		}
	}
	switch {
	case len(v.InternalErrors) > 0:
		v.Verdict, v.Exit = "internal-error", 3
	case len(v.Failures) > 0:
		v.Verdict, v.Exit = "fail", 1
	default:
		v.Verdict, v.Exit = "pass", 0
	}
	return v
}

func (v *Verdict) fail(part, kind, detail string) {
	v.Failures = append(v.Failures, Problem{part, kind, detail})
}

func (v *Verdict) internal(part, kind, detail string) {
	v.InternalErrors = append(v.InternalErrors, Problem{part, kind, detail})
}

// readStatus reads status.tsv: "STEP<TAB>EXIT<TAB>SECONDS" per line.
func readStatus(dir string, v *Verdict) map[string]int {
	out := map[string]int{}
	f, err := os.Open(filepath.Join(dir, "status.tsv"))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) < 2 {
			continue
		}
		st, err := strconv.Atoi(fs[1])
		if err != nil {
			continue
		}
		out[fs[0]] = st
		if len(fs) > 2 {
			if s, err := strconv.Atoi(fs[2]); err == nil {
				v.Seconds[fs[0]] = s
			}
		}
	}
	return out
}

// readJSON decodes dir/name into x; a missing or malformed file is the
// part's internal error.
func (v *Verdict) readJSON(dir, part, name string, st int, x any) bool {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err == nil {
		err = json.Unmarshal(b, x)
	}
	if err != nil {
		v.internal(part, KindNoOutput, fmt.Sprintf("%s (exit %d): %v", name, st, err))
		return false
	}
	return true
}

// exitWord says what an exit status of mmrace means.
func exitWord(st int) string {
	switch st {
	case 0:
		return "clean"
	case 1:
		return "a finding"
	case 2:
		return "usage error"
	case 3:
		return "internal error"
	}
	return fmt.Sprintf("exit %d", st)
}

func (v *Verdict) judgeHunt(dir string, st int) {
	var res hunt.Result
	if !v.readJSON(dir, "hunt", "hunt.json", st, &res) {
		return
	}
	h := &HuntSummary{Variants: len(res.Variants), NotAsExpected: []string{}, NotObservable: []string{}, Reproducers: []string{},
		FaithfulExecs: res.Faithful.Executions, FaithfulFailures: res.Faithful.Violations, InternalErrors: res.InternalErrors()}
	v.Hunt = h
	for _, r := range res.Variants {
		if r.Reproducer != "" {
			h.Reproducers = append(h.Reproducers, r.Reproducer)
		}
		if !r.Semantic.Detected && r.SemanticOnly != "" {
			h.NotObservable = append(h.NotObservable, r.Name+": "+r.SemanticOnly)
		}
		if r.Expected() {
			h.AsExpected++
			continue
		}
		h.NotAsExpected = append(h.NotAsExpected, r.Name)
		v.fail("hunt", KindUndetected, fmt.Sprintf("%s: semantic-only %s; rules on %s (%d and %d runs)",
			r.Name, r.Semantic.Word(r.SemanticOnly), r.Rules.Word(""), r.Semantic.Executions, r.Rules.Executions))
	}
	if res.Faithful.Violations > 0 {
		v.fail("hunt", KindFaithful, fmt.Sprintf("%d violations in %d executions; the first:\n%s", res.Faithful.Violations, res.Faithful.Executions, res.Faithful.First))
	}
	if n := res.InternalErrors(); n > 0 {
		v.internal("hunt", KindInternal, fmt.Sprintf("%d runs", n))
	}
	switch {
	case st == 0 && !res.OK(), st == 1 && res.OK() && len(v.Failures) == 0:
		v.internal("hunt", KindInternal, fmt.Sprintf("exit %d disagrees with hunt.json", st))
	case st != 0 && st != 1 && res.InternalErrors() == 0:
		v.internal("hunt", KindInternal, "exit "+strconv.Itoa(st)+" ("+exitWord(st)+")")
	}
}

func (v *Verdict) judgeLocks(dir string, st int) {
	var rep locks.Report
	if !v.readJSON(dir, "locks", "locks.json", st, &rep) {
		return
	}
	v.Locks = &LocksSummary{Mutants: rep.Mutants, Interrupted: rep.Interrupted, All: rep.Summary.All,
		LockSites: rep.Summary.Locks, FlushSites: rep.Summary.Flushes, Index: "locks/index.html"}
	// A mutant whose search met an internal error may still end killed or
	// survived by its other runs: Report.InternalErrors counts it too.
	if n := max(rep.Summary.All.Internal, rep.InternalErrors()); n > 0 {
		first := ""
		for _, r := range rep.Results {
			if r.FirstInternal != "" {
				first = " (the first: " + r.ID + ", see locks.log)"
				break
			}
		}
		v.internal("locks", KindInternal, fmt.Sprintf("%d mutants met an internal error%s", n, first))
	} else if st != 0 {
		v.internal("locks", KindInternal, "exit "+strconv.Itoa(st)+" ("+exitWord(st)+")")
	}
	if rep.Interrupted {
		v.internal("locks", KindNoOutput, fmt.Sprintf("interrupted: %d mutants not run", len(rep.NotRun)))
	}
}

func (v *Verdict) judgeStress(dir, name string, st int, race bool) {
	var res stress.Result
	if !v.readJSON(dir, name, name+".json", st, &res) {
		return
	}
	s := StressSummary{Name: name, Mode: res.Mode, Executions: res.Executions, Seconds: res.Seconds,
		Failures: res.Failures, InternalErrors: res.InternalErrors, Findings: []string{}}
	for _, f := range res.Findings {
		s.Findings = append(s.Findings, fmt.Sprintf("%s ×%d (%s)", f.Signature, f.Count, f.Reproducer))
	}
	if race {
		if b, err := os.ReadFile(filepath.Join(dir, name+".log")); err == nil {
			s.RaceReports = strings.Count(string(b), "WARNING: DATA RACE")
		}
		if s.RaceReports > 0 {
			v.internal(name, KindDataRace, fmt.Sprintf("%d data race reports of the race detector in mmrace (free mode): see %s.log", s.RaceReports, name))
		}
	}
	v.Stress = append(v.Stress, s)
	if res.Failures > 0 {
		v.fail(name, KindFaithful, fmt.Sprintf("%d failures in %d executions (%s mode): %s", res.Failures, res.Executions, res.Mode, strings.Join(s.Findings, "; ")))
	}
	if res.InternalErrors > 0 {
		v.internal(name, KindInternal, fmt.Sprintf("%d runs; the first:\n%s", res.InternalErrors, res.FirstInternal))
	}
	switch {
	case race && st == 66 && s.RaceReports > 0: // the race detector's exit status
	case st == 0 && res.Failures == 0, st == 1 && res.Failures > 0, st == 3 && res.InternalErrors > 0:
	default:
		v.internal(name, KindInternal, fmt.Sprintf("exit %d (%s) disagrees with %s.json", st, exitWord(st), name))
	}
}

func (v *Verdict) judgeFuzzDetect(dir string, st int) {
	b, err := os.ReadFile(filepath.Join(dir, "fuzz-detect", "results.tsv"))
	if err != nil {
		v.internal("fuzz", KindNoOutput, fmt.Sprintf("fuzz-detect (exit %d): %v", st, err))
		return
	}
	f := v.Fuzz
	f.NotFound = []string{}
	for i, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		c := strings.Split(l, "\t")
		if i == 0 || len(c) < 5 {
			continue
		}
		row := FuzzRow{Variant: c[0], Status: c[1], Seconds: c[2], Execs: c[3], Invariant: c[4]}
		f.Rows = append(f.Rows, row)
		switch row.Status {
		case "found":
			f.Found++
		case "not-found":
			f.NotFound = append(f.NotFound, row.Variant)
		case "internal-error":
			v.internal("fuzz", KindInternal, row.Variant+": the harness failed while fuzzing (see fuzz-detect/logs/"+row.Variant+".log)")
		default:
			v.internal("fuzz", KindNoOutput, row.Variant+": the fuzzer did not run (see fuzz-detect/logs/"+row.Variant+".log)")
		}
	}
	if st != 0 {
		v.internal("fuzz", KindNoOutput, "fuzz-detect: exit "+strconv.Itoa(st))
	}
}

func (v *Verdict) judgeFuzzFaithful(dir string, st int) {
	b, err := os.ReadFile(filepath.Join(dir, "fuzz-faithful.log"))
	log := string(b)
	switch {
	case err != nil:
		v.Fuzz.Faithful = "did not run"
		v.internal("fuzz", KindNoOutput, "fuzz-faithful.log: "+err.Error())
	case st == 0:
		v.Fuzz.Faithful = "clean"
	case strings.Contains(log, "MMRACE INTERNAL ERROR"):
		v.Fuzz.Faithful = "internal-error"
		v.internal("fuzz", KindInternal, "FuzzKernel on the faithful kernel: see fuzz-faithful.log")
	case strings.Contains(log, "--- FAIL: FuzzKernel"):
		v.Fuzz.Faithful = "failed"
		v.fail("fuzz", KindFaithful, "FuzzKernel found a failure of the faithful kernel: see fuzz-faithful.log")
	default:
		v.Fuzz.Faithful = "did not run"
		v.internal("fuzz", KindNoOutput, "FuzzKernel on the faithful kernel: exit "+strconv.Itoa(st)+", see fuzz-faithful.log")
	}
}

// Markdown writes the summary for people.
func (v *Verdict) Markdown(w io.Writer) {
	fmt.Fprintf(w, "# mmrace nightly")
	if v.Commit != "" {
		fmt.Fprintf(w, " at %s", v.Commit)
	}
	if v.Scale != "" {
		fmt.Fprintf(w, ", scale %s", v.Scale)
	}
	fmt.Fprintf(w, "\n\n**%s** (exit %d); parts: %s\n", strings.ToUpper(v.Verdict), v.Exit, strings.Join(v.Parts, ", "))
	for _, g := range []struct {
		title string
		ps    []Problem
	}{{"Failures", v.Failures}, {"Internal errors (mmrace's own bugs)", v.InternalErrors}} {
		if len(g.ps) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n## %s\n\n", g.title)
		for _, p := range g.ps {
			fmt.Fprintf(w, "- %s, %s: %s\n", p.Part, p.Kind, strings.ReplaceAll(p.Detail, "\n", "\n  "))
		}
	}
	if h := v.Hunt; h != nil {
		fmt.Fprintf(w, "\n## hunt\n\n%d of %d variants detected as expected; faithful kernel: %d violations in %d executions; internal errors: %d. Details: hunt.json; reproducers and their timelines: hunt-out/.\n",
			h.AsExpected, h.Variants, h.FaithfulFailures, h.FaithfulExecs, h.InternalErrors)
		if len(h.NotAsExpected) > 0 {
			fmt.Fprintf(w, "\nNot as expected: %s\n", strings.Join(h.NotAsExpected, ", "))
		}
		if len(h.NotObservable) > 0 {
			fmt.Fprintf(w, "\nUndetected semantic-only, as the catalogue says:\n\n")
			for _, n := range h.NotObservable {
				fmt.Fprintf(w, "- %s\n", firstClause(n))
			}
		}
	}
	if l := v.Locks; l != nil {
		a := l.All
		fmt.Fprintf(w, "\n## lock-necessity map (mmrace locks)\n\n%d mutants: killed %d, no consequence %d (%d argued, %d open gaps), not exercised %d, internal errors %d; kill rate over exercised mutants %s (lock sites %s, flush sites %s). Details: locks.json; counterexamples: %s.\n",
			l.Mutants, a.Killed, a.NoConsequence, a.Argued, a.OpenGaps, a.NotExercised, a.Internal, rate(a), rate(l.LockSites), rate(l.FlushSites), l.Index)
	}
	if len(v.Stress) > 0 {
		fmt.Fprintf(w, "\n## stress of the faithful kernel\n\n")
		for _, s := range v.Stress {
			race := ""
			if s.Name == "stress-race" {
				race = fmt.Sprintf(", %d data race reports", s.RaceReports)
			}
			fmt.Fprintf(w, "- %s (%s mode): %d executions in %.0fs, %d failures, %d internal errors%s\n", s.Name, s.Mode, s.Executions, s.Seconds, s.Failures, s.InternalErrors, race)
		}
	}
	if f := v.Fuzz; f != nil {
		fmt.Fprintf(w, "\n## fuzzing (semantic-only, from the seed corpus)\n\n| variant | status | seconds | execs | invariant |\n|---|---|---|---|---|\n")
		for _, r := range f.Rows {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.Variant, r.Status, r.Seconds, r.Execs, r.Invariant)
		}
		fmt.Fprintf(w, "\nFound %d of %d within the budget (hunt's verdict decides detection; this table is the fuzzer's time to detection). Faithful FuzzKernel: %s.\n", f.Found, len(f.Rows), f.Faithful)
	}
	if len(v.Budgets) > 0 && v.Budgets[0] != "" {
		fmt.Fprintf(w, "\n## budgets\n\n")
		for _, b := range v.Budgets {
			fmt.Fprintf(w, "- %s\n", b)
		}
	}
	if len(v.Seconds) > 0 {
		fmt.Fprintf(w, "\n## wall time\n\n")
		var names []string
		for n := range v.Seconds {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintf(w, "- %s: %ds\n", n, v.Seconds[n])
		}
	}
}

// rate is a tally's kill rate over its exercised mutants, "-" for none.
func rate(t locks.Tally) string {
	if t.Killed+t.NoConsequence == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d = %.0f%%", t.Killed, t.Killed+t.NoConsequence, 100*t.KillRate)
}

// firstClause shortens a catalogue reason to its first clause.
func firstClause(s string) string {
	if i := strings.Index(s, ": "); i >= 0 {
		if j := strings.Index(s[i+2:], ": "); j >= 0 {
			return s[:i+2+j]
		}
	}
	return s
}
