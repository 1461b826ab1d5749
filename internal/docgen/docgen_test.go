package docgen

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var update = flag.Bool("update", false, "rewrite the generated docs")

// root is the module's directory, seen from this package's.
const root = "../.."

// TestGeneratedDocs: the committed catalogues are what the code
// generates; -update rewrites them.
func TestGeneratedDocs(t *testing.T) {
	variants, err := Variants(filepath.Join(root, "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct{ file, text string }{
		{"docs/invariants.md", Invariants()},
		{"docs/variants.md", variants},
	} {
		path := filepath.Join(root, d.file)
		if *update {
			if err := os.WriteFile(path, []byte(d.text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := checkDoc(path, d.text); err != nil {
			t.Errorf("%v; run: go test ./internal/docgen -update", err)
		}
	}
}

// checkDoc returns an error unless the file at path holds want.
func checkDoc(path, want string) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if string(got) != want {
		return fmt.Errorf("%s is not what the code generates (first difference at line %d)", filepath.ToSlash(path), firstDiffLine(string(got), want))
	}
	return nil
}

// TestCheckDocFindsStaleDoc: a catalogue edited by hand, or left behind
// by a change of the code, fails the check.
func TestCheckDocFindsStaleDoc(t *testing.T) {
	path := filepath.Join(t.TempDir(), "invariants.md")
	want := Invariants()
	stale := strings.Replace(want, "`leak`", "`leak-check`", 1)
	if err := os.WriteFile(path, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	err := checkDoc(path, want)
	if err == nil || !strings.Contains(err.Error(), "first difference at line") {
		t.Fatalf("stale doc: %v", err)
	}
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkDoc(path, want); err != nil {
		t.Fatal(err)
	}
}

// firstDiffLine returns the 1-based line where a and b first differ.
func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// TestFirstDiffLine: the helper that tells where a stale doc differs.
func TestFirstDiffLine(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"x\ny", "x\nz", 2}, {"x", "x\ny", 2}, {"a", "b", 1}} {
		if got := firstDiffLine(c.a, c.b); got != c.want {
			t.Errorf("firstDiffLine(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
