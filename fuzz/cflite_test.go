package fuzz

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestClusterFuzzLiteBuildsEveryTarget: .clusterfuzzlite/build.sh compiles
// every fuzz target of the module, each from a file that go-118-fuzz-build
// can take into its package (see fuzz_test.go): no external _test package.
func TestClusterFuzzLiteBuildsEveryTarget(t *testing.T) {
	build, err := os.ReadFile("../.clusterfuzzlite/build.sh")
	if err != nil {
		t.Fatal(err)
	}
	target := regexp.MustCompile(`(?m)^func (Fuzz\w*)\(\w+ \*testing\.F\)`)
	pkg := regexp.MustCompile(`(?m)^package (\w+)`)
	n := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range target.FindAllSubmatch(b, -1) {
			n++
			dir := filepath.ToSlash(filepath.Dir(path))
			want := "compile_native_go_fuzzer mmrace/" + strings.TrimPrefix(dir, "../") + " " + string(m[1]) + " "
			if !strings.Contains(string(build), want) {
				t.Errorf("%s: build.sh lacks %q", path, want)
			}
			if p := pkg.FindSubmatch(b); p == nil || strings.HasSuffix(string(p[1]), "_test") {
				t.Errorf("%s: %s is in an external test package, which go-118-fuzz-build cannot build", path, m[1])
			}
		}
		return nil
	})
	if err != nil || n < 5 {
		t.Fatalf("%d fuzz targets found: %v", n, err)
	}
}
