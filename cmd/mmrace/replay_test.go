package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mmrace/internal/scenario"
	"mmrace/kernelsim"
)

// verdictOf returns the VERDICT section of a report: harness.Report.Summary.
func verdictOf(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "VERDICT\n")
	j := strings.Index(out, "\nSTORY\n")
	if i < 0 || j < i {
		t.Fatalf("no VERDICT section in\n%s", out)
	}
	return out[i+len("VERDICT\n") : j]
}

// reproduceCommand returns the arguments of the report's "To reproduce" line.
func reproduceCommand(t *testing.T, out string) []string {
	t.Helper()
	i := strings.Index(out, "To reproduce:\n  go run ./cmd/mmrace ")
	if i < 0 {
		t.Fatalf("no reproduce command in\n%s", out)
	}
	args := strings.Fields(strings.SplitN(out[i:], "\n", 3)[1])[3:]
	for j, a := range args {
		args[j] = strings.Trim(a, "'") // the shell's quotes of a mutant id (no spaces inside)
	}
	return args
}

// TestReplayCorpus replays every corpus scenario with the variants and
// rules of each of its run directives and requires the verdict the file
// expects; then it runs the printed reproduce command (an exact replay of
// the recorded schedule) and requires the same verdict again.
func TestReplayCorpus(t *testing.T) {
	files, err := filepath.Glob("../../corpus/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenario.Read(f, string(b))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(sc.Program, "\nschedule ") || strings.Count(string(b), "\nprogram\n") > 1 {
			// A scenario without a pinned schedule (a selftest re-creation,
			// checked by search) has nothing to replay.
			continue
		}
		for _, r := range sc.Runs {
			variants := r.Args["variants"]
			if variants == "" {
				variants = "faithful"
			}
			rules := r.Args["rules"] != "off"
			name := fmt.Sprintf("%s:%d", filepath.Base(f), r.Line)
			t.Run(name, func(t *testing.T) {
				want := r.Summary()
				args := []string{"replay", f, "-variants", variants, fmt.Sprintf("-rules=%v", rules)}
				if m := strings.Trim(r.Args["mutant"], "()"); m != "" {
					args = append(args, "-mutant", m) // a lock-necessity mutant's scenario
				}
				code, out, errs := runMain(args...)
				if got := verdictOf(t, out); got != want {
					t.Fatalf("replay -variants %s -rules=%v: verdict\n%s\nthe scenario expects\n%s", variants, rules, got, want)
				}
				if wantCode := map[bool]int{true: 0, false: 1}[strings.HasPrefix(want, "ok: ")]; code != wantCode || errs != "" {
					t.Fatalf("exit %d (want %d), stderr %q", code, wantCode, errs)
				}
				cmd := reproduceCommand(t, out)
				code2, out2, _ := runMain(cmd...)
				if code2 != code || verdictOf(t, out2) != want {
					t.Fatalf("%v: exit %d, verdict\n%s\nwant\n%s", cmd, code2, verdictOf(t, out2), want)
				}
			})
		}
	}
}

// TestReplayHTML writes the timeline of a variant's reproducer and leaves
// nothing else behind.
func TestReplayHTML(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "out.html")
	const file = "../../corpus/vmf_anon_prepare_blocking_on_mmap_lock_deadlocks_against_vma_start_write.txt"
	code, out, errs := runMain("replay", file, "-variants", "vmf_anon_prepare-blocking-mmap-lock", "-rules=false", "-html", page)
	if code != 1 || errs != "" || !strings.Contains(out, "TIMELINE\n"+page+"\n") {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="lane-t1"`, `id="lane-t2"`, `id="violation"`, `id="narrative"`, "wait-for cycle"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if fi, err := os.Stat(page); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("page mode: %v %v", fi.Mode(), err)
	}
	// Replaying again replaces the page in place.
	if code, _, errs := runMain("replay", file, "-html", page); code != 0 || errs != "" {
		t.Fatalf("faithful replay: exit %d, stderr %q", code, errs)
	}
	if b2, _ := os.ReadFile(page); strings.Contains(string(b2), `id="violation"`) {
		t.Error("the faithful run's page has a violation")
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("files left in the output directory: %v", names)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestReplayBadInput: every kind of bad input exits with status 2 and one
// line on stderr, prints nothing, and creates no output file.
func TestReplayBadInput(t *testing.T) {
	in := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const prog = "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nt1: fault mm1 0x10 write\nt2: mprotect mm1 0x12+2 r\n"
	good := write("good.txt", prog+"schedule v1.gAFCn73Tbw\n")
	unpinned := write("unpinned.txt", prog)
	corrupt := write("corrupt.txt", prog+"schedule v1.AAAAAAAA\n")
	badProg := write("badprog.txt", "mm mm1\nsetup: mmap mm1 0x10 anon rw\n")
	empty := write("empty.txt", "# nothing here\n")
	noProgram := write("noprogram.txt", "# A scenario without a program.\n\nrun\n----\nok: 1 steps\n")
	badScenario := write("badscenario.txt", "# A scenario.\n\nprogram\nmm mm1\nt1: frobnicate mm1\n----\nok\n")
	unterminated := write("unterminated.txt", "program\nmm mm1\n----\nok\n\nrun\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay"}, "expected a scenario or program file"},
		{[]string{"replay", "-html", "x.html"}, "expected a scenario or program file"},
		{[]string{"replay", filepath.Join(in, "missing.txt")}, "no such file"},
		{[]string{"replay", in}, "is a directory"},
		{[]string{"replay", empty}, empty + ": no program"},
		{[]string{"replay", noProgram}, noProgram + ": no program directive"},
		{[]string{"replay", unterminated}, unterminated + ":6: run: no ---- line"},
		{[]string{"replay", badProg}, badProg + ":2: mmap: expected a range ADDR+LEN"},
		{[]string{"replay", badScenario}, badScenario + `:5: unknown op "frobnicate"`},
		{[]string{"replay", good, "-variants", "no-such-variant"}, `unknown variant "no-such-variant"`},
		{[]string{"replay", good, "-schedule", "v1.AAAAAAAA"}, "-schedule: bad replay string: checksum mismatch"},
		{[]string{"replay", good, "-schedule", "v9.AAAA"}, "unsupported version"},
		{[]string{"replay", corrupt}, corrupt + ": schedule line: bad replay string: checksum mismatch"},
		{[]string{"replay", unpinned}, "has no schedule line"},
		{[]string{"replay", good, "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"replay", good, "-rules=maybe"}, "invalid boolean value"},
		{[]string{"replay", good, "extra"}, `unexpected argument "extra"`},
		{[]string{"replay", good, "-story", "-1"}, "-story must not be negative"},
		{[]string{"replay", good, "-html", filepath.Join(in, "no", "such", "dir", "out.html")}, "-html: "},
		{[]string{"replay", good, "-html", in}, "is not a regular file"},
	} {
		outDir := t.TempDir()
		args := tc.args
		if !strings.Contains(strings.Join(args, " "), "-html") {
			args = append(args[:len(args):len(args)], "-html", filepath.Join(outDir, "out.html"))
		}
		code, out, errs := runMain(args...)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and one line containing %q", tc.args, code, errs, out, tc.want)
		}
		if names := dirNames(t, outDir); len(names) != 0 {
			t.Errorf("%v: left %v behind", tc.args, names)
		}
	}
	if names := dirNames(t, in); len(names) != 8 {
		t.Errorf("the input directory changed: %v", names)
	}
	// The good program itself replays.
	if code, out, errs := runMain("replay", good, "-variants", "vmf_anon_prepare-blocking-mmap-lock", "-rules=false"); code != 1 || !strings.Contains(out, "wait-for cycle") {
		t.Errorf("good program: exit %d, stderr %q\n%s", code, errs, out)
	}
}

func TestVariantsCommand(t *testing.T) {
	code, out, errs := runMain("variants")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, v := range kernelsim.AllVariants {
		if !strings.Contains(out, "\n"+v.Name+" ") || !strings.Contains(out, v.Function) {
			t.Errorf("the table lacks %s (%s)", v.Name, v.Function)
		}
	}
	for _, v := range kernelsim.TestOnlyVariants {
		if strings.Contains(out, v.Name) {
			t.Errorf("the table lists the test-only %s", v.Name)
		}
	}
	code, out, errs = runMain("variants", "-json")
	if code != 0 || errs != "" {
		t.Fatalf("-json: exit %d, stderr %q", code, errs)
	}
	var list []struct {
		Name      string `json:"name"`
		Function  string `json:"function"`
		KernelRef string `json:"kernel_ref"`
		Removes   string `json:"removes"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("-json: %v\n%s", err, out)
	}
	if len(list) != len(kernelsim.AllVariants) {
		t.Fatalf("-json: %d variants, want %d", len(list), len(kernelsim.AllVariants))
	}
	for i, v := range kernelsim.AllVariants {
		if got := list[i]; got.Name != v.Name || got.Function != v.Function || got.KernelRef != v.KernelRef || got.Removes != v.Removes {
			t.Errorf("-json entry %d: %+v, want %+v", i, got, v)
		}
	}
	if code, _, errs := runMain("variants", "-bogus"); code != 2 || !strings.Contains(errs, "-bogus") {
		t.Errorf("variants -bogus: exit %d, stderr %q", code, errs)
	}
}
