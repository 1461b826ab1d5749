package timeline_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/internal/scenario"
	"mmrace/internal/timeline"
	"mmrace/kernelsim"
)

// reproducer is the corpus scenario the tests draw: move_ptes without the
// rmap locks strands a migration entry (rmap-walk-coverage, t2, rules off).
const reproducer = "../../corpus/mremap_move_ptes_without_rmap_locks_strands_a_migration_entry.txt"

// runScenario runs the program of a corpus scenario under variants.
func runScenario(t testing.TB, path, variants string, rules bool) *harness.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Read(path, string(b))
	if err != nil {
		t.Fatal(err)
	}
	p, err := sc.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if p.Variants, err = kernelsim.ParseVariants(variants); err != nil {
		t.Fatal(err)
	}
	return harness.Run(p, harness.Options{SemanticOnly: !rules})
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
	rep := runScenario(t, reproducer, "move_ptes-skip-rmap-locks", false)
	if !rep.Failed() || rep.Verdict.Violation.Invariant != "rmap-walk-coverage" {
		t.Fatalf("the reproducer does not fail: %s", rep.Summary())
	}
	page := render(t, rep, "move_ptes <skip> & \"rules off\"")
	for _, want := range []string{
		`id="lane-t1"`, `id="lane-t2"`, `id="violation"`, `id="narrative"`, `id="verdict"`,
		"<title>move_ptes &lt;skip&gt; &amp; &#34;rules off&#34;</title>",
		"rmap-walk-coverage",
		"move_ptes-skip-rmap-locks",
		rep.Schedule,
		"t1: mremap mm1 0x20&#43;4 -&gt; 0x14", // the program, escaped
		`class="mk pte"`, `class="mk walk"`, `class="hold lk-anon read"`, `class="wait"`,
		`class="mk try"`, // t2's failed anon_vma trylock at step 9
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
	// The violation column sits at step 47 of t2's lane.
	if rep.Verdict.Violation.Step != 47 || rep.Verdict.Violation.Task != 1 {
		t.Errorf("unexpected violation %v", rep.Verdict.Violation)
	}
	checkBalanced(t, page)
}

func TestRenderOK(t *testing.T) {
	rep := runScenario(t, reproducer, "", false)
	if rep.Failed() {
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
	if strings.Count(page, `class="wait"`) < 2 || !strings.Contains(page, `id="violation"`) {
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
			if rep.Failed() != strings.Contains(page, `id="violation"`) {
				t.Errorf("%s:%d: failed=%v but violation element present=%v", f, r.Line, rep.Failed(), !rep.Failed())
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
