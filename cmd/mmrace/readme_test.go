package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"
)

// readmeCommandDiff returns what the command table of readme lacks or has
// too many, given the command names.
func readmeCommandDiff(readme string, names []string) []string {
	var rows, out []string
	for _, m := range regexp.MustCompile("(?m)^\\| `mmrace ([a-z]+)").FindAllStringSubmatch(readme, -1) {
		rows = append(rows, m[1])
	}
	for _, n := range names {
		if !slices.Contains(rows, n) {
			out = append(out, fmt.Sprintf("README.md has no row for mmrace %s", n))
		}
	}
	for _, n := range rows {
		if !slices.Contains(names, n) {
			out = append(out, fmt.Sprintf("README.md has a row for mmrace %s, which is no command", n))
		}
	}
	return out
}

// TestReadmeCommandTable: the README's command table has a row for every
// command of the command table (and help), and no other.
func TestReadmeCommandTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"help"}
	for _, c := range commands {
		names = append(names, c.name)
	}
	for _, d := range readmeCommandDiff(string(b), names) {
		t.Error(d)
	}
}

// TestReadmeCommandDiffFails: a missing row and a stray row are reported.
func TestReadmeCommandDiffFails(t *testing.T) {
	got := readmeCommandDiff("| `mmrace run FILE` | x |\n| `mmrace gone` | y |\n", []string{"run", "hunt"})
	want := []string{"README.md has no row for mmrace hunt", "README.md has a row for mmrace gone, which is no command"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
