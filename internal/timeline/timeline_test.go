package timeline_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/internal/scenario"
	"mmrace/internal/timeline"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// reproducer is the corpus scenario the tests draw: move_ptes without the
// rmap locks strands a migration entry (rmap-walk-coverage, t2, rules off).
const reproducer = "../../corpus/mremap_move_ptes_without_rmap_locks_strands_a_migration_entry.txt"

// runScenario runs the program of a corpus scenario under variants.
func runScenario(t testing.TB, path, variants string, rules bool) *harness.Report {
	t.Helper()
	p, err := scenario.ReadProgram(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Variants, err = kernelsim.ParseVariants(variants); err != nil {
		t.Fatal(err)
	}
	return harness.Run(p, harness.Options{SemanticOnly: !rules})
}

// failingRun runs a corpus scenario's program under variants, rules off,
// and returns a run that fails with rmap-walk-coverage: the pinned
// schedule's, or, should the model have drifted from the corpus, the
// first of a PCT search.
func failingRun(t testing.TB, path, variants string) *harness.Report {
	t.Helper()
	const want = "rmap-walk-coverage"
	rep := runScenario(t, path, variants, false)
	if rep.Verdict.Violation.Invariant == want {
		return rep
	}
	t.Logf("the pinned schedule gives %q; searching", rep.Summary())
	k := rep.Steps*5/4 + 10
	rep, n := harness.Search(rep.Program, harness.Options{SemanticOnly: true, Want: want},
		func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 3, k) }, 5000)
	if rep.Verdict.Violation.Invariant != want {
		t.Fatalf("no %s in %d PCT runs: %s", want, n, rep.Summary())
	}
	return rep
}

func render(t testing.TB, rep *harness.Report, title string) string {
	t.Helper()
	var b bytes.Buffer
	if err := timeline.Render(&b, rep, title); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRenderViolation(t *testing.T) {
	rep := failingRun(t, reproducer, "move_ptes-skip-rmap-locks")
	page := render(t, rep, "move_ptes <skip> & \"rules off\"")
	for _, want := range []string{
		`id="lane-t1"`, `id="lane-t2"`, `id="violation"`, `id="narrative"`, `id="verdict"`,
		"<title>move_ptes &lt;skip&gt; &amp; &#34;rules off&#34;</title>",
		"rmap-walk-coverage",
		"move_ptes-skip-rmap-locks",
		rep.Schedule,
		"t1: mremap mm1 0x20&#43;4 -&gt; 0x14", // the program, escaped
		// Drawn items (the legend uses <i>): PTE writes, walk visits,
		// t2's read hold of the anon_vma, t1's final wait for it.
		`<div class="mk pte"`, `<div class="mk walk"`, `<div class="hold lk-anon read"`, `<div class="wait"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Every narrative line is one element; the violating step's is marked.
	story := strings.Split(strings.TrimRight(rep.Story(40), "\n"), "\n")
	if n := strings.Count(page, `<div class="line`); n != len(story) {
		t.Errorf("%d narrative elements, want %d", n, len(story))
	}
	if strings.Count(page, `id="violation"`) != 1 {
		t.Error("the violation id is not unique")
	}
	// The violation column is at the violating step, marked in its task's lane.
	v := rep.Verdict.Violation
	if !strings.Contains(page, fmt.Sprintf(`<span>step %d %s: rmap-walk-coverage</span>`, v.Step, sched.TaskName(v.Task))) ||
		!strings.Contains(page, `class="mk hit"`) {
		t.Errorf("the violation at step %d is not drawn there", v.Step)
	}
	checkBalanced(t, page)
}

func TestRenderOK(t *testing.T) {
	rep := runScenario(t, reproducer, "", false)
	if !rep.OK() {
		t.Fatalf("the faithful kernel fails: %s", rep.Summary())
	}
	page := render(t, rep, "faithful")
	if strings.Contains(page, `id="violation"`) || !strings.Contains(page, `class="verdict good"`) {
		t.Error("a passing run has a highlighted step or no ok verdict")
	}
	for _, want := range []string{`id="lane-t1"`, `id="lane-t2"`, `id="narrative"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	checkBalanced(t, page)
}

// TestRenderDeadlock draws a deadlock: both tasks end waiting.
func TestRenderDeadlock(t *testing.T) {
	rep := runScenario(t, "../../corpus/vmf_anon_prepare_blocking_on_mmap_lock_deadlocks_against_vma_start_write.txt", "vmf_anon_prepare-blocking-mmap-lock", false)
	if rep.Verdict.Violation.Invariant != "deadlock" {
		t.Fatalf("no deadlock: %s", rep.Summary())
	}
	page := render(t, rep, "deadlock")
	if strings.Count(page, `<div class="wait"`) < 2 || !strings.Contains(page, `id="violation"`) {
		t.Error("the deadlock's two waits or the violation are not drawn")
	}
	checkBalanced(t, page)
}

// TestRenderEveryScenario renders every corpus scenario under each of its
// variants, with rules off and on (some fail in setup or after the run).
func TestRenderEveryScenario(t *testing.T) {
	files, _ := filepath.Glob("../../corpus/*.txt")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		sc, err := scenario.Read(f, string(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sc.Runs {
			rep := runScenario(t, f, r.Args["variants"], r.Args["rules"] != "off")
			page := render(t, rep, f)
			if !rep.OK() != strings.Contains(page, `id="violation"`) {
				t.Errorf("%s:%d: the run's failed=%v, but the page disagrees", f, r.Line, !rep.OK())
			}
			checkBalanced(t, page)
		}
	}
}

var tagRE = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>`)

// checkBalanced checks that the page's elements nest properly (void
// elements aside) and that the script and style hold no markup.
func checkBalanced(t *testing.T, page string) {
	t.Helper()
	void := map[string]bool{"meta": true, "br": true, "img": true, "input": true, "link": true, "hr": true}
	body := page
	for _, raw := range []string{"script", "style"} {
		i := strings.Index(body, "<"+raw+">")
		j := strings.Index(body, "</"+raw+">")
		if i < 0 || j < i {
			t.Fatalf("no <%s> element", raw)
		}
		if strings.Contains(body[i+len(raw)+2:j], "</") {
			t.Errorf("<%s> contains a closing tag", raw)
		}
		body = body[:i] + body[j+len(raw)+3:]
	}
	if !strings.HasPrefix(body, "<!DOCTYPE html>") {
		t.Error("no doctype")
	}
	var stack []string
	for _, m := range tagRE.FindAllStringSubmatch(body, -1) {
		name := strings.ToLower(m[2])
		if void[name] || m[3] == "/" {
			continue
		}
		if m[1] == "" {
			stack = append(stack, name)
			continue
		}
		if len(stack) == 0 || stack[len(stack)-1] != name {
			t.Fatalf("</%s> closes %v", name, stack)
		}
		stack = stack[:len(stack)-1]
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements %v", stack)
	}
	if strings.Contains(body, "ZgotmplZ") {
		t.Error("html/template rejected a value (ZgotmplZ)")
	}
}

// TestRenderSynthetic draws a hand-made trace: a failed trylock, text that
// needs escaping, and a violation found after the run.
func TestRenderSynthetic(t *testing.T) {
	p, err := kernelsim.Parse("synthetic", "mm mm1\nt1: fault mm1 0x10 read\nt2: fault mm1 0x10 read\nt3: fault mm1 0x10 read\n")
	if err != nil {
		t.Fatal(err)
	}
	rep := &harness.Report{
		Program: p,
		Phase:   "quiescent",
		Verdict: sched.Verdict{Outcome: sched.Failed, Violation: sched.Violation{Invariant: "leak", Task: -1, Step: -1, Detail: "a <b>bold</b> claim"}},
		RunTrace: sched.Trace{Events: []sched.Event{
			{Step: 0, Task: 0, Kind: sched.KindOp, Obj: "mm1", Detail: "fault mm1 0x10 read"},
			{Step: 1, Task: 1, Kind: sched.KindTrylock, Obj: "folio_lock(f1)", Detail: "failed"},
			{Step: 2, Task: 0, Kind: sched.KindWrite, Obj: "pte mm1 0x10", Detail: "</div><script>alert(1)</script>"},
		}},
	}
	page := render(t, rep, "synthetic")
	for _, want := range []string{
		`id="lane-t1"`, `id="lane-t2"`, `id="lane-t3"`, `<div class="mk try"`, `<div class="mk pte"`,
		`<span>after the run (quiescent): leak</span>`, "a &lt;b&gt;bold&lt;/b&gt; claim",
		"&lt;/div&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("trace text is not escaped")
	}
	checkBalanced(t, page)
}
