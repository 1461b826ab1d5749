package docgen

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// block is one fenced code block of a Markdown file.
type block struct {
	info string // the word after the opening fence
	text string
	line int // the line of its first content line
}

// fencedBlocks returns the fenced blocks of md (``` fences, possibly
// indented, as inside a list item).
func fencedBlocks(md string) ([]block, error) {
	var out []block
	var cur *block
	var indent string
	for i, l := range strings.Split(md, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			indent = l[:len(l)-len(trimmed)]
			cur = &block{info: strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), line: i + 2}
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += strings.TrimPrefix(l, indent) + "\n"
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: a fenced block is not closed", cur.line-1)
	}
	return out, nil
}

// expectRE reads an example's expectation comment.
var expectRE = regexp.MustCompile(`(?m)^# expect: (.*)$`)

// searchRuns is how many PCT schedules an example is searched with.
const searchRuns = 300

// checkExample parses and runs one program of the language doc and holds
// it to its expectation:
//
//	(none)                          no finding in a search of schedules
//	# expect: parse error: TEXT     Parse fails with an error containing TEXT
//	# expect: invalid-program: TEXT the setup is refused; the detail contains TEXT
//	# expect: refused: TEXT         no finding; a plain run records a refusal containing TEXT
//	# expect: finding [semantic-only] NAME[: TEXT]
//	                                a search finds a violation of NAME (detail containing TEXT)
func checkExample(name, text string) error {
	expect := ""
	if m := expectRE.FindStringSubmatch(text); m != nil {
		expect = m[1]
	}
	p, err := kernelsim.Parse(name, text)
	if want, ok := strings.CutPrefix(expect, "parse error: "); ok {
		if err == nil || !strings.Contains(err.Error(), want) {
			return fmt.Errorf("want a parse error containing %q, got %v", want, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if q, err := kernelsim.Parse(name, p.String()); err != nil || q.String() != p.String() {
		return fmt.Errorf("its canonical text does not parse back: %v\n%s", err, p)
	}
	opts := harness.Options{}
	wantName, wantDetail := "", ""
	if f, ok := strings.CutPrefix(expect, "finding "); ok {
		if f, ok = strings.CutPrefix(f, "semantic-only "); ok {
			opts.SemanticOnly = true
		}
		wantName, wantDetail, _ = strings.Cut(f, ": ")
	}
	first := harness.Run(p, opts)
	if want, ok := strings.CutPrefix(expect, "invalid-program: "); ok {
		if !first.Verdict.InvalidProgram() || !strings.Contains(first.Verdict.Violation.Detail, want) {
			return fmt.Errorf("want an invalid program with %q, got %s", want, first.Summary())
		}
		return nil
	}
	if first.Verdict.InvalidProgram() || first.InternalError() {
		return fmt.Errorf("a plain run: %s", first.Summary())
	}
	// PCT's k bounds the steps of a run, as mmrace run measures it.
	k := first.Steps*5/4 + 10
	rep, n := harness.Search(p, opts, func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 3, k) }, searchRuns)
	switch {
	case rep.InternalError():
		return fmt.Errorf("run %d: %s", n, rep.Summary())
	case wantName == "" && rep.Finding():
		return fmt.Errorf("want no finding, run %d found: %s", n, rep.Summary())
	case wantName != "" && (!rep.Finding() || rep.Verdict.Violation.Invariant != wantName || !strings.Contains(rep.Verdict.Violation.Detail, wantDetail)):
		return fmt.Errorf("want a finding %s %q in %d runs, got: %s", wantName, wantDetail, searchRuns, rep.Summary())
	}
	if want, ok := strings.CutPrefix(expect, "refused: "); ok && !slices.ContainsFunc(first.Errors, func(e string) bool { return strings.Contains(e, want) }) {
		return fmt.Errorf("want a refusal containing %q, got %q", want, first.Errors)
	}
	return nil
}

func readLanguageDoc(t *testing.T) []block {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docs", "language.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := fencedBlocks(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestLanguageExamples: every program of docs/language.md parses, runs
// and meets its expectation.
func TestLanguageExamples(t *testing.T) {
	n := 0
	for _, b := range readLanguageDoc(t) {
		if b.info != "mmrace" {
			continue
		}
		n++
		name := fmt.Sprintf("docs/language.md:%d", b.line)
		if err := checkExample(name, b.text); err != nil {
			t.Errorf("%s: %v\n%s", name, err, b.text)
		}
	}
	if n < 5 {
		t.Fatalf("only %d mmrace blocks in docs/language.md", n)
	}
}

// TestCheckExampleFails: each kind of expectation fails when the program
// does not meet it.
func TestCheckExampleFails(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"does not parse", "mm mm1\nt1: mmap mm1 0x10 anon rw\n", "expected a range"},
		{"wrong parse error", "# expect: parse error: nothing like this\nmm mm1\nt1: mmap mm1 0x10 anon rw\n", "want a parse error"},
		{"setup refused", "mm mm1\nsetup: mprotect mm1 0x10+1 r\nt1: load mm1 0x10\n", "a plain run"},
		{"not invalid", "# expect: invalid-program: x\nmm mm1\nsetup: mmap mm1 0x10+1 anon rw\nt1: load mm1 0x10\n", "want an invalid program"},
		{"unexpected finding", "mm mm1\nsetup: mmap mm1 0x10+1 anon rw\nt1: load mm1 0x10\ncheck: load mm1 0x10 = 1\n", "want no finding"},
		{"no finding", "# expect: finding check\nmm mm1\nsetup: mmap mm1 0x10+1 anon rw\nt1: load mm1 0x10\n", "want a finding check"},
		{"no refusal", "# expect: refused: SIGSEGV\nmm mm1\nsetup: mmap mm1 0x10+1 anon rw\nt1: load mm1 0x10\n", "want a refusal"},
	} {
		err := checkExample(c.name, c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// opUsages returns the syntax lines the parser prints: for each op, the
// usage its error message quotes when the op has no arguments (mremap's
// two forms are one string joined by " | "), and for check: lines, the
// forms its error lists.
func opUsages(t *testing.T) []string {
	t.Helper()
	quoted := regexp.MustCompile(`"([^"]+)"`)
	var out []string
	for v := kernelsim.Verb(0); !strings.HasPrefix(v.String(), "verb("); v++ {
		_, err := kernelsim.Parse("usage", "mm mm1\nt1: "+v.String()+"\n")
		if err == nil {
			t.Fatalf("%s without arguments parses", v)
		}
		m := quoted.FindStringSubmatch(err.Error())
		if m == nil || !strings.HasPrefix(m[1], v.String()+" ") {
			t.Fatalf("%s: no usage in %q", v, err)
		}
		out = append(out, strings.Split(m[1], " | ")...)
	}
	_, err := kernelsim.Parse("usage", "mm mm1\ncheck: x\n")
	if err == nil {
		t.Fatal("an empty check parses")
	}
	for _, m := range quoted.FindAllStringSubmatch(err.Error(), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestLanguageSyntaxIsTheParsers: the syntax blocks of docs/language.md
// are exactly the usage strings of the parser's error messages (the help
// a user gets from a malformed line), every op's and every check's.
func TestLanguageSyntaxIsTheParsers(t *testing.T) {
	var doc []string
	for _, b := range readLanguageDoc(t) {
		if b.info == "syntax" {
			doc = append(doc, strings.Split(strings.TrimSpace(b.text), "\n")...)
		}
	}
	if d := syntaxDiff(doc, opUsages(t)); d != "" {
		t.Error(d)
	}
}

// syntaxDiff describes the lines that only one side has.
func syntaxDiff(doc, parser []string) string {
	var b strings.Builder
	for _, l := range parser {
		if !slices.Contains(doc, l) {
			fmt.Fprintf(&b, "the parser prints %q; docs/language.md has no such syntax line\n", l)
		}
	}
	for _, l := range doc {
		if !slices.Contains(parser, l) {
			fmt.Fprintf(&b, "docs/language.md has the syntax line %q; the parser prints no such usage\n", l)
		}
	}
	return b.String()
}

// TestSyntaxDiffFails: a syntax line that is missing, or one the parser
// does not print, is reported.
func TestSyntaxDiffFails(t *testing.T) {
	d := syntaxDiff([]string{"exit MM", "exit MM now"}, []string{"exit MM", "load MM ADDR"})
	for _, want := range []string{`the parser prints "load MM ADDR"`, `the syntax line "exit MM now"`} {
		if !strings.Contains(d, want) {
			t.Errorf("missing %q in %q", want, d)
		}
	}
}

// TestFencedBlocks: blocks are found, indented ones too, and an unclosed
// one is an error.
func TestFencedBlocks(t *testing.T) {
	bs, err := fencedBlocks("a\n```mmrace\nmm mm1\n```\n1. x\n\n   ```syntax\n   exit MM\n   ```\n")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bs {
		got = append(got, fmt.Sprintf("%s@%d:%q", b.info, b.line, b.text))
	}
	sort.Strings(got)
	if want := []string{`mmrace@3:"mm mm1\n"`, `syntax@8:"exit MM\n"`}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := fencedBlocks("```mmrace\nmm mm1\n"); err == nil {
		t.Error("an unclosed block is no error")
	}
}
