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
