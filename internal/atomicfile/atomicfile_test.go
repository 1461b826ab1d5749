package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// entries counts the files in dir.
func entries(dir string) int {
	ents, _ := os.ReadDir(dir)
	return len(ents)
}

func TestCommitReplaces(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(dest, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	if _, err := f.Write([]byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "old\n" {
		t.Fatalf("before Commit the destination holds %q", b)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // after Commit: a no-op
	b, err := os.ReadFile(dest)
	if err != nil || string(b) != "new\n" {
		t.Fatalf("after Commit: %q, %v", b, err)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if n := entries(dir); n != 1 {
		t.Errorf("%d files in the directory, want 1", n)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.txt")
	f, err := Create(dest)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	f.Abort()
	if n := entries(dir); n != 0 {
		t.Errorf("%d files in the directory, want 0", n)
	}
}

func TestCreateRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(dir); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("a directory as destination: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "no", "such", "out.txt")); err == nil {
		t.Error("a destination in a missing directory: no error")
	}
	if n := entries(dir); n != 0 {
		t.Errorf("%d files in the directory, want 0", n)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "a.txt")
	for _, s := range []string{"one\n", "two\n"} {
		if err := WriteFile(dest, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(dest); string(b) != s {
			t.Fatalf("got %q, want %q", b, s)
		}
	}
	if n := entries(dir); n != 1 {
		t.Errorf("%d files in the directory, want 1", n)
	}
}
