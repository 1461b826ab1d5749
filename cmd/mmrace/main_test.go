package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runMain(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestDemoReplayCommand runs the demo, then the "To reproduce" command it
// prints, and requires the same verdict and trace.
func TestDemoReplayCommand(t *testing.T) {
	code, out, _ := runMain("demo")
	if code != 1 || !strings.Contains(out, "wait-for cycle") {
		t.Fatalf("demo: exit %d\n%s", code, out)
	}
	i := strings.Index(out, "go run ./cmd/mmrace ")
	if i < 0 {
		t.Fatalf("no reproduce command in\n%s", out)
	}
	cmd := strings.Fields(strings.SplitN(out[i:], "\n", 2)[0])[3:]
	code2, out2, _ := runMain(cmd...)
	if code2 != 1 {
		t.Fatalf("replay: exit %d\n%s", code2, out2)
	}
	section := func(s, name string) string {
		s = s[strings.Index(s, name):]
		return s[:strings.Index(s, "SCHEDULE")]
	}
	if section(out, "VERDICT") != section(out2, "VERDICT") {
		t.Fatalf("replay differs:\n%s\n---\n%s", out, out2)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("t1: down_write A\nt2: frobnicate A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "missing command"},
		{[]string{"nosuch"}, `unknown command "nosuch"`},
		{[]string{"demo", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"demo", "-replay", "v1.garbage!"}, "bad replay string"},
		{[]string{"demo", "-replay", "v9.AAAA"}, "unsupported version"},
		{[]string{"demo", "-file", bad}, bad + `:2: unknown operation "frobnicate"`},
		{[]string{"demo", "-file", filepath.Join(dir, "missing.txt")}, "no such file"},
	} {
		code, out, errs := runMain(tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and one line containing %q", tc.args, code, errs, out, tc.want)
		}
	}
}

// TestRunReproduceCommand runs a kernelsim program under a variant, then the
// printed "To reproduce" command, and requires the same verdict.
func TestRunReproduceCommand(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "d11b.txt")
	src := "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nt1: fault mm1 0x10 write\nt2: mprotect mm1 0x12+2 r\n"
	if err := os.WriteFile(prog, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain("run", prog, "-variants", "vmf_anon_prepare-blocking-mmap-lock", "-rules=false", "-runs", "500")
	if code != 1 || !strings.Contains(out, "wait-for cycle: ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	i := strings.Index(out, "go run ./cmd/mmrace ")
	cmd := strings.Fields(strings.SplitN(out[i:], "\n", 2)[0])[3:]
	code2, out2, _ := runMain(cmd...)
	verdict := func(s string) string { return strings.SplitN(s[strings.Index(s, "VERDICT"):], "STORY", 2)[0] }
	if code2 != 1 || strings.SplitN(verdict(out), "\n", 3)[2] != strings.SplitN(verdict(out2), "\n", 3)[2] {
		t.Fatalf("replay differs:\n%s\n---\n%s", verdict(out), verdict(out2))
	}
}

func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(good, []byte("mm mm1\nt1: fault mm1 0x10 read\n"), 0o644)
	os.WriteFile(bad, []byte("mm mm1\nsetup: mmap mm1 0x10 anon rw\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "expected a program file"},
		{[]string{"run", bad}, bad + ":2: mmap: expected a range ADDR+LEN"},
		{[]string{"run", good, "-variants", "no-such-variant"}, `unknown variant "no-such-variant"`},
		{[]string{"run", good, "-replay", "v1.AAAAAAAA"}, "checksum mismatch"},
		{[]string{"run", good, "-strategy", "magic"}, `unknown strategy "magic"`},
		{[]string{"run", good, "-runs", "x"}, "invalid value"},
	} {
		code, out, errs := runMain(tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, code, errs, tc.want)
		}
	}
}

func TestHuntStressMinimizeBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("mm mm1\nt1: munmap mm1 0x10\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"hunt", "-per-variant", "soon"}, "invalid value"},
		{[]string{"hunt", "-variants", "nope", "-out", out}, `unknown variant "nope"`},
		{[]string{"hunt", "-per-variant", "0s", "-out", out}, "budgets must be positive"},
		{[]string{"stress", "-mode", "chaotic", "-out", out}, "-mode must be controlled or free"},
		{[]string{"stress", "-strategy", "magic", "-out", out}, "-strategy must be pct, random or bytes"},
		{[]string{"stress", "-duration", "0s", "-out", out}, "must be positive"},
		{[]string{"minimize"}, "expected a program file"},
		{[]string{"minimize", bad}, bad + ":2: munmap: expected a range"},
		{[]string{"minimize", filepath.Join(dir, "none.txt")}, "no such file"},
	} {
		code, stdout, errs := runMain(tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, code, errs, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: created %s on bad input", tc.args, out)
		}
	}
}
