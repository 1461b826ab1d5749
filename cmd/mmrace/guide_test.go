package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The guide docs/modelling-your-change.md is tested so that it cannot
// drift from the commands it shows:
//
//   - every ```console block is a transcript: each "$ CMD" line is run in
//     order, in one directory where docs/ and corpus/ are the
//     repository's, and the lines after it are an excerpt of its stdout:
//     each must match a later line of the output than the one before. A
//     line "…" skips any lines, a "…" inside a line any text; whitespace
//     runs are one space; a number matches any number and a replay string
//     v1.… any replay string (they move with the model; the words do not).
//     CMD is `mmrace ARGS` (or `go run ./cmd/mmrace ARGS`), run in process,
//     `cat FILE`, or `echo $?` (the previous command's exit status, which
//     must be exactly what the transcript shows). A command exiting 2 or 3
//     (bad input, internal error) fails the test.
//   - every ```go block whose first line is "// kernelsim/FILE.go" is an
//     excerpt of that file: its lines, split at "…" lines, appear in the
//     file verbatim, in order.

const guidePath = "../../docs/modelling-your-change.md"

// fencedBlock is a fenced code block of a Markdown file.
type fencedBlock struct {
	lang  string
	line  int // of the opening fence
	lines []string
}

// fencedBlocks returns the fenced code blocks of md.
func fencedBlocks(md string) []fencedBlock {
	var out []fencedBlock
	var cur *fencedBlock
	for i, l := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &fencedBlock{lang: strings.TrimPrefix(l, "```"), line: i + 1}
		case cur != nil && l == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, l)
		}
	}
	return out
}

// transcriptCmd is one command of a console block and the output lines
// shown after it.
type transcriptCmd struct {
	line int
	cmd  string
	want []string
}

func transcript(b fencedBlock) ([]transcriptCmd, error) {
	var out []transcriptCmd
	for i, l := range b.lines {
		if c, ok := strings.CutPrefix(l, "$ "); ok {
			out = append(out, transcriptCmd{line: b.line + 1 + i, cmd: c})
			continue
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("line %d: output before the first command", b.line+1+i)
		}
		out[len(out)-1].want = append(out[len(out)-1].want, l)
	}
	return out, nil
}

var (
	spaceRE  = regexp.MustCompile(`\s+`)
	numberRE = regexp.MustCompile(`[0-9]+`)
	schedRE  = regexp.MustCompile(`v1\.[A-Za-z0-9_-]+`)
)

// normalize collapses whitespace runs and trims.
func normalize(s string) string { return strings.TrimSpace(spaceRE.ReplaceAllString(s, " ")) }

// linePattern is the regexp a transcript line stands for.
func linePattern(want string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i, part := range strings.Split(normalize(want), "…") {
		if i > 0 {
			b.WriteString(".*")
		}
		// A replay string first (it contains digits), then numbers.
		last := 0
		for _, m := range schedRE.FindAllStringIndex(part, -1) {
			b.WriteString(numberPattern(part[last:m[0]]))
			b.WriteString(`v1\.[A-Za-z0-9_-]+`)
			last = m[1]
		}
		b.WriteString(numberPattern(part[last:]))
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func numberPattern(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range numberRE.FindAllStringIndex(s, -1) {
		b.WriteString(regexp.QuoteMeta(s[last:m[0]]))
		b.WriteString("[0-9]+")
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(s[last:]))
	return b.String()
}

// matchExcerpt returns "" if want is an excerpt of got (see above), else
// the first line of want that does not match.
func matchExcerpt(got string, want []string) string {
	lines := strings.Split(got, "\n")
	for i := range lines {
		lines[i] = normalize(lines[i])
	}
	next := 0
	for _, w := range want {
		if normalize(w) == "…" {
			continue
		}
		re := linePattern(w)
		found := false
		for next < len(lines) {
			l := lines[next]
			next++
			if re.MatchString(l) {
				found = true
				break
			}
		}
		if !found {
			return w
		}
	}
	return ""
}

// mmraceArgs returns the arguments of an mmrace command line.
func mmraceArgs(cmd string) ([]string, bool) {
	f := strings.Fields(cmd)
	switch {
	case len(f) > 0 && f[0] == "mmrace":
		return f[1:], true
	case len(f) > 2 && f[0] == "go" && f[1] == "run" && f[2] == "./cmd/mmrace":
		return f[3:], true
	}
	return nil, false
}

// TestGuideTranscripts runs the guide's console blocks and checks its Go
// excerpts.
func TestGuideTranscripts(t *testing.T) {
	b, err := os.ReadFile(guidePath)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"docs", "corpus"} {
		if err := os.Symlink(filepath.Join(root, d), filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	ran, excerpts := 0, 0
	status := -1
	for _, blk := range fencedBlocks(string(b)) {
		switch blk.lang {
		case "go":
			if len(blk.lines) > 0 && strings.HasPrefix(blk.lines[0], "// kernelsim/") {
				checkExcerpt(t, root, blk)
				excerpts++
			}
			continue
		case "console":
		default:
			continue
		}
		cmds, err := transcript(blk)
		if err != nil {
			t.Fatalf("%s: %v", guidePath, err)
		}
		for _, c := range cmds {
			where := fmt.Sprintf("%s:%d: %s", filepath.Base(guidePath), c.line, c.cmd)
			var out string
			switch {
			case c.cmd == "echo $?":
				if status < 0 {
					t.Fatalf("%s: no command before", where)
				}
				if got := strings.Join(c.want, "\n"); got != strconv.Itoa(status) {
					t.Errorf("%s: the guide shows %q, the exit status was %d", where, got, status)
				}
				continue
			case strings.HasPrefix(c.cmd, "cat "):
				bs, err := os.ReadFile(strings.TrimPrefix(c.cmd, "cat "))
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				if got := strings.TrimSuffix(string(bs), "\n"); got != strings.Join(c.want, "\n") {
					t.Errorf("%s: the guide shows\n%s\nthe file has\n%s", where, strings.Join(c.want, "\n"), got)
				}
				status = 0
				continue
			}
			args, ok := mmraceArgs(c.cmd)
			if !ok {
				t.Fatalf("%s: the test runs mmrace, cat and echo $? only", where)
			}
			var errs string
			status, out, errs = runMain(args...)
			ran++
			if status == exitUsage || status == exitInternal {
				t.Fatalf("%s: exit %d\n%s%s", where, status, out, errs)
			}
			if miss := matchExcerpt(out, c.want); miss != "" {
				t.Errorf("%s: no output line matches %q (in order); the output:\n%s", where, miss, out)
			}
		}
	}
	if ran < 8 || excerpts < 3 {
		t.Fatalf("ran %d commands and checked %d excerpts of the guide; it has lost its transcripts", ran, excerpts)
	}
	// The written counterexample is what step 6 pins: a corpus scenario
	// with its schedule and the variant's run directive.
	ce, err := os.ReadFile(filepath.Join(dir, "check-out", "counterexample-1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nprogram\n", "\nschedule v1.", "\nrun variants=flush_tlb_batched_pending-missing rules=off"} {
		if !strings.Contains(string(ce), want) {
			t.Errorf("check-out/counterexample-1.txt lacks %q:\n%s", want, ce)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "timeline.html")); err != nil {
		t.Errorf("replay -html wrote no timeline: %v", err)
	}
}

// checkExcerpt checks that a Go block headed by its kernelsim file is
// that file's text, in chunks split at "…" lines.
func checkExcerpt(t *testing.T, root string, blk fencedBlock) {
	t.Helper()
	name := strings.Fields(strings.TrimPrefix(blk.lines[0], "// "))[0]
	src, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Errorf("%s:%d: %v", guidePath, blk.line, err)
		return
	}
	rest := string(src)
	var chunk []string
	flush := func() {
		if len(chunk) == 0 {
			return
		}
		text := strings.Join(chunk, "\n") + "\n"
		i := strings.Index(rest, text)
		if i < 0 {
			t.Errorf("%s:%d: %s does not have (after the excerpt's earlier lines):\n%s", guidePath, blk.line, name, text)
			return
		}
		rest = rest[i+len(text):]
		chunk = nil
	}
	for _, l := range blk.lines[1:] {
		if strings.TrimSpace(l) == "…" {
			flush()
			continue
		}
		chunk = append(chunk, l)
	}
	flush()
}

// TestGuideMatching: the excerpt matching accepts moved numbers and
// replay strings, skips lines, and refuses changed words and order.
func TestGuideMatching(t *testing.T) {
	got := "A: ran 29 times\nschedule v1.AbC-_9\n  leak     25 in 25 runs\nnot reached (106): [x] [y]\nend\n"
	for _, tc := range []struct {
		want []string
		miss string
	}{
		{[]string{"A: ran 3 times", "…", "leak 1 in 1 runs", "not reached (7): …", "end"}, ""},
		{[]string{"schedule v1.zzz"}, ""},
		{[]string{"A: ran 3 times", "A: ran 3 times"}, "A: ran 3 times"},
		{[]string{"end", "leak 1 in 1 runs"}, "leak 1 in 1 runs"},
		{[]string{"A: not exercised (0 times)"}, "A: not exercised (0 times)"},
	} {
		if miss := matchExcerpt(got, tc.want); miss != tc.miss {
			t.Errorf("%q: miss %q, want %q", tc.want, miss, tc.miss)
		}
	}
}
