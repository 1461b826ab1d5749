package oracle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"mmrace/internal/scenario"
	"mmrace/kernelsim"
)

// needHost skips the test where this machine cannot run the host side, and
// checks when it ends that it left no helper process behind.
func needHost(t *testing.T) {
	t.Helper()
	if _, err := Helper(); err != nil {
		if errors.Is(err, ErrUnavailable) {
			t.Skipf("skipped: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left := helpersLeft(); len(left) > 0 {
			t.Errorf("helper processes left behind: %v", left)
		}
	})
}

// readProgram reads a program file or a corpus scenario, returning the
// program and the text it was parsed from.
func readProgram(t *testing.T, path string) (*kernelsim.Program, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text, err := scenario.Source(path, string(b))
	if err != nil {
		t.Fatal(err)
	}
	p, err := kernelsim.Parse(path, text)
	if err != nil {
		t.Fatal(err)
	}
	return p, text
}

// diffFile diffs one program file and returns the report and its text
// form.
func diffFile(t *testing.T, path string) (*Report, string) {
	t.Helper()
	p, text := readProgram(t, path)
	rep, err := Diff(p, Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var b strings.Builder
	rep.Format(&b, OpLines(text))
	return rep, b.String()
}

// requireAgreement fails the test when the report shows a difference that
// is not a known one.
func requireAgreement(t *testing.T, path string, rep *Report, text string) {
	t.Helper()
	if rep.First == nil {
		return
	}
	if k := knownKind(rep.First.Kind); k != nil {
		t.Logf("%s: known difference %q (%s)", path, k.Kind, k.Example)
		return
	}
	t.Errorf("%s: the model and the kernel differ, a kind not known before:\n%s", path, text)
}

// TestSelftests diffs the kernel-selftest scenarios of testdata/selftests
// (mremap_test.c, mremap_dontunmap.c, merge.c, rmap.c and the copy_vma
// cases of tools/testing/vma, scaled to the model's address space): no
// difference but the known ones. The first of them is acceptance 1 of the
// oracle: mremap_test.c's "mremap expand merge" shows the merge difference
// until the model merges.
func TestSelftests(t *testing.T) {
	needHost(t)
	files, _ := filepath.Glob("testdata/selftests/*.txt")
	if len(files) < 20 {
		t.Fatalf("only %d selftest scenarios", len(files))
	}
	for _, f := range files {
		rep, text := diffFile(t, f)
		requireAgreement(t, f, rep, text)
		if rep.Limit != nil {
			t.Errorf("%s reaches a model limit: %s", f, rep.Limit)
		}
	}
}

// TestCorpus diffs the program of every corpus scenario.
func TestCorpus(t *testing.T) {
	needHost(t)
	files, _ := filepath.Glob("../corpus/*.txt")
	if len(files) == 0 {
		t.Fatal("no corpus scenarios")
	}
	for _, f := range files {
		rep, text := diffFile(t, f)
		requireAgreement(t, f, rep, text)
	}
}

// TestKnownDifferences requires every known difference to show, as its
// kind, in its example program: an entry whose example agrees was fixed in
// the model and must be deleted.
func TestKnownDifferences(t *testing.T) {
	needHost(t)
	for _, k := range knownDifferences {
		if k.Since != "" && !kernelAtLeast(k.Since) {
			t.Logf("%s: this kernel predates %s", k.Kind, k.Since)
			continue
		}
		rep, text := diffFile(t, filepath.Join("testdata", k.Example))
		switch {
		case rep.First == nil:
			t.Errorf("%s: the model now agrees with the kernel on %s: delete its entry from knownDifferences", k.Kind, k.Example)
		case rep.First.Kind != k.Kind:
			t.Errorf("%s: %s now shows %q:\n%s", k.Kind, k.Example, rep.First.Kind, text)
		}
	}
}

// TestRefusals diffs a program of ops the kernel refuses (EINVAL, EFAULT,
// ENOMEM, SIGSEGV): they are compared, not crashed on.
func TestRefusals(t *testing.T) {
	needHost(t)
	rep, text := diffFile(t, "testdata/refusals.txt")
	if rep.First != nil {
		t.Fatalf("refusals differ:\n%s", text)
	}
	seen := map[string]bool{}
	for _, s := range rep.Steps {
		seen[s.Host.Result.Outcome] = true
	}
	for _, want := range []string{"EINVAL", "EFAULT", "ENOMEM", "SIGSEGV"} {
		if !seen[want] {
			t.Errorf("no op of refusals.txt got %s from the kernel (got %v)", want, seen)
		}
	}
}

// kernelAtLeast reports whether this machine's kernel release is at least
// version ("6.17").
func kernelAtLeast(version string) bool {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return false
	}
	num := func(s string) [2]int {
		var v [2]int
		for i, f := range strings.SplitN(s, ".", 3)[:2] {
			v[i], _ = strconv.Atoi(strings.TrimFunc(f, func(r rune) bool { return r < '0' || r > '9' }))
		}
		return v
	}
	have, want := num(strings.TrimSpace(string(b))), num(version)
	return have[0] > want[0] || have[0] == want[0] && have[1] >= want[1]
}

func init() {
	// The known examples live in testdata; a typo there would make
	// TestKnownDifferences fail confusingly.
	for _, k := range knownDifferences {
		if _, err := os.Stat(filepath.Join("testdata", k.Example)); err != nil {
			panic(fmt.Sprintf("known difference %q: %v", k.Kind, err))
		}
	}
}

// TestFaultAround: pages the kernel's fault-around maps ahead of the model
// are tolerated, and listed.
func TestFaultAround(t *testing.T) {
	needHost(t)
	rep, text := diffFile(t, "testdata/fault_around.txt")
	if rep.First != nil {
		t.Fatalf("fault-around differs:\n%s", text)
	}
	if len(rep.FaultAround) == 0 {
		t.Logf("this kernel did not fault around (fault_around_bytes may be one page)")
	}
	t.Logf("\n%s", text)
}

// TestLimitReached: a program that reaches a limit is compared up to the
// op before it, and the report names the limit.
func TestLimitReached(t *testing.T) {
	needHost(t)
	p, err := kernelsim.Parse("limit", "mm mm1\nsetup: mmap mm1 0x10+2 anon rw\nt1: store mm1 0x10 1\nt1: mmap mm1 0x1fe+4 anon rw\nt1: load mm1 0x10\n")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Diff(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.First != nil || rep.Limit == nil || rep.Limit.Name != "address-space" || len(rep.Steps) != 2 {
		t.Fatalf("limit %v, difference %v, %d steps; want address-space after 2 steps", rep.Limit, rep.First, len(rep.Steps))
	}
}

// TestPunch: a hole punch (shmem_fallocate) leaves the model and this
// machine's kernel in the same state, op by op.
func TestPunch(t *testing.T) {
	needHost(t)
	for _, f := range []string{"testdata/punch.txt", "testdata/punch_model_only.txt"} {
		rep, text := diffFile(t, f)
		if rep.First != nil {
			t.Fatalf("%s: the hole punch differs:\n%s", f, text)
		}
	}
}
