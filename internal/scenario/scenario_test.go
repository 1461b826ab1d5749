package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCorpus reads every corpus scenario: each has a program that parses
// and at least one run with an expected verdict.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("../../corpus/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !Is(string(b)) {
			t.Errorf("%s: not recognized as a scenario", f)
		}
		sc, err := Read(f, string(b))
		if err != nil {
			t.Fatal(err)
		}
		p, err := sc.Parse()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(p.Tasks) == 0 || len(sc.Runs) == 0 {
			t.Errorf("%s: %d tasks, %d runs", f, len(p.Tasks), len(sc.Runs))
		}
		for _, r := range sc.Runs {
			s := r.Summary()
			if !strings.HasPrefix(s, "ok: ") && !strings.Contains(s, " in ") {
				t.Errorf("%s:%d: expected summary %q", f, r.Line, s)
			}
		}
	}
}

func TestRead(t *testing.T) {
	const text = `# A scenario.

program
mm mm1
t1: fault mm1 0x10 write
----
ok

run variants=(a,b) rules=off
----
----
ok: 3 steps

story:
----
----

run
----
deadlock in run: deadlock
  cycle
`
	sc, err := Read("s.txt", text)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Line != 3 || len(sc.Runs) != 2 {
		t.Fatalf("line %d, runs %+v", sc.Line, sc.Runs)
	}
	if r := sc.Runs[0]; r.Args["variants"] != "a,b" || r.Args["rules"] != "off" || r.Want != "ok: 3 steps\n\nstory:\n" || r.Summary() != "ok: 3 steps\n\n" {
		t.Errorf("run 1: %+v", r)
	}
	if r := sc.Runs[1]; r.Line != 18 || r.Want != "deadlock in run: deadlock\n  cycle\n" {
		t.Errorf("run 2: %+v", r)
	}
	if _, err := sc.Parse(); err != nil {
		t.Fatal(err)
	}
	if Is("mm mm1\nt1: fault mm1 0x10 write\n") {
		t.Error("a plain program taken for a scenario")
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"run\n----\nok\n", "s.txt: no program directive"},
		{"# x\nprogram\nmm mm1\n", "s.txt:2: program: no ---- line"},
		{"run =x\n----\n", `s.txt:1: run: malformed argument "=x"`},
	} {
		if _, err := Read("s.txt", tc.text); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.text, err, tc.want)
		}
	}
	sc, err := Read("s.txt", "# x\n\nprogram\nmm mm1\nt1: frobnicate mm1\n----\nok\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Parse(); err == nil || !strings.HasPrefix(err.Error(), "s.txt:5: unknown op \"frobnicate\"") {
		t.Errorf("got %v, want the file's line 5", err)
	}
}

// TestSource returns a scenario's program block with its line numbers, and
// a plain program as it is.
func TestSource(t *testing.T) {
	plain := "mm mm1\nt1: load mm1 0x10\n"
	if got, err := Source("p.txt", plain); err != nil || got != plain {
		t.Errorf("plain program: %q, %v", got, err)
	}
	sc := "# header\n\nprogram\nmm mm1\nt1: load mm1 0x10\n----\nok\n"
	got, err := Source("s.txt", sc)
	if err != nil || !strings.HasSuffix(got, "mm mm1\nt1: load mm1 0x10\n") || strings.Count(got[:strings.Index(got, "mm mm1")], "\n") != 3 {
		t.Errorf("scenario: %q, %v", got, err)
	}
	if _, err := Source("bad.txt", "run\n----\nok\n"); err == nil {
		t.Error("a scenario without a program directive was accepted")
	}
}
