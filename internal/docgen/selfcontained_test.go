package docgen

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// textFiles returns the repository's text files under dir (relative,
// slash-separated) with their contents: sources, docs, scripts, corpus,
// configuration; not .git, not fuzzer inputs.
func textFiles(dir string) (map[string]string, error) {
	exts := []string{".go", ".md", ".txt", ".sh", ".yaml", ".yml", ".c", ".h", ".tmpl", ".html", ".json"}
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" || rel == "fuzz/testdata" || strings.HasSuffix(d.Name(), "-out") {
				return filepath.SkipDir
			}
			return nil
		}
		base := d.Name()
		if !slices.Contains(exts, filepath.Ext(base)) && base != "Makefile" && base != "Dockerfile" && base != "run" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[rel] = string(b)
		return nil
	})
	return out, err
}

// outsidePaths are the spellings of a path out of the repository, into
// the workplace's shared notes (built here so that this file does not
// match itself).
var outsidePaths = []string{".." + "/shared", "shared" + "/reference", "shared" + "/DESIGN", "shared" + "/STYLE"}

// pointersOutside returns "file:line: text" for every line that points
// outside the repository.
func pointersOutside(files map[string]string) []string {
	var out []string
	for name, text := range files {
		for i, l := range strings.Split(text, "\n") {
			if slices.ContainsFunc(outsidePaths, func(p string) bool { return strings.Contains(l, p) }) {
				out = append(out, fmt.Sprintf("%s:%d: %s", name, i+1, strings.TrimSpace(l)))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestNothingPointsOutside: no file of the repository (README.md and
// docs/ included) sends its reader outside it.
func TestNothingPointsOutside(t *testing.T) {
	files, err := textFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["README.md"]; !ok {
		t.Fatal("README.md not scanned")
	}
	for _, p := range pointersOutside(files) {
		t.Errorf("points outside the repository: %s", p)
	}
}

// labelRE matches a reference label: A.2, C.6.d, D.11b, I14.
var labelRE = regexp.MustCompile(`\b(?:[A-E]\.[0-9]{1,2}(?:\.[a-z]\b|[a-z]\b|\b)|[IN][0-9]{1,2}\b)`)

// labelsCited returns every label the files cite, with the first file
// citing it.
func labelsCited(files map[string]string) map[string]string {
	out := map[string]string{}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n == "docs/references.md" {
			continue
		}
		for _, l := range labelRE.FindAllString(files[n], -1) {
			if _, ok := out[l]; !ok {
				out[l] = n
			}
		}
	}
	return out
}

// labelsExplained returns the labels that docs/references.md explains: the
// first cell of its table rows.
func labelsExplained(doc string) map[string]bool {
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| ([A-EIN][0-9.a-z]*) \|`).FindAllStringSubmatch(doc, -1) {
		out[m[1]] = true
	}
	return out
}

// TestReferenceLabelsExplained: every label a file of the repository
// cites is explained in docs/references.md.
func TestReferenceLabelsExplained(t *testing.T) {
	files, err := textFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	explained := labelsExplained(files["docs/references.md"])
	cited := labelsCited(files)
	if len(cited) < 20 {
		t.Fatalf("only %d labels cited: %v", len(cited), cited)
	}
	for l, f := range cited {
		if !explained[l] {
			t.Errorf("%s cites %s, which docs/references.md does not explain", f, l)
		}
	}
}

// unknownLabel is a label nothing explains (built so that this file does
// not cite it).
const unknownLabel = "D." + "99"

// TestChecksOfReferencesFail: a pointer outside and an unexplained label
// are found.
func TestChecksOfReferencesFail(t *testing.T) {
	files := map[string]string{
		"README.md":          "See `" + outsidePaths[0] + "/DESIGN.md`.\n",
		"a.go":               "// mirrors C.6.d and " + unknownLabel + " (I1)\n",
		"docs/references.md": "| C.6.d | x |\n| I1 | y |\n",
	}
	if got := pointersOutside(files); len(got) != 1 || !strings.HasPrefix(got[0], "README.md:1:") {
		t.Errorf("pointersOutside: %v", got)
	}
	explained := labelsExplained(files["docs/references.md"])
	var missing []string
	for l := range labelsCited(files) {
		if !explained[l] {
			missing = append(missing, l)
		}
	}
	if !slices.Equal(missing, []string{unknownLabel}) {
		t.Errorf("unexplained: %v, want [%s]", missing, unknownLabel)
	}
}

// linkRE matches a relative Markdown link target.
var linkRE = regexp.MustCompile(`\]\(([^)#:\s]*)(#[^)\s]*)?\)`)

// anchors returns the GitHub anchors of a Markdown file's headings.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	inFence := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(l, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				b.WriteRune(r)
			}
		}
		out["#"+b.String()] = true
	}
	return out
}

// brokenLinks returns the relative links of the Markdown files that point
// to no file, or to a heading the target does not have.
func brokenLinks(files map[string]string, exists func(string) bool) []string {
	var out []string
	for name, text := range files {
		if !strings.HasSuffix(name, ".md") {
			continue
		}
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target, anchor := m[1], m[2]
			path := name
			if target != "" {
				path = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(name), target)))
				if !exists(path) {
					out = append(out, fmt.Sprintf("%s: link to %s: no such file", name, target))
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(path, ".md") && !anchors(files[path])[anchor] {
				out = append(out, fmt.Sprintf("%s: link to %s%s: no such heading", name, target, anchor))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestDocLinks: the relative links of README.md and docs/ lead to files
// of the repository and to headings that exist.
func TestDocLinks(t *testing.T) {
	files, err := textFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for n, s := range files {
		if n == "README.md" || strings.HasPrefix(n, "docs/") {
			docs[n] = s
		}
	}
	exists := func(p string) bool {
		if _, ok := files[p]; ok {
			return true
		}
		_, err := os.Stat(filepath.Join(root, p))
		return err == nil
	}
	for _, b := range brokenLinks(docs, exists) {
		t.Error(b)
	}
	for _, want := range []string{"docs/architecture.md", "docs/language.md", "docs/invariants.md", "docs/variants.md", "docs/references.md", "docs/modelling-your-change.md"} {
		if !strings.Contains(files["README.md"], "("+want+")") {
			t.Errorf("README.md does not link %s", want)
		}
	}
}

// TestBrokenLinksFound: a missing file and a missing heading are found.
func TestBrokenLinksFound(t *testing.T) {
	files := map[string]string{
		"README.md":    "[a](docs/a.md#there) [b](docs/b.md) [c](docs/a.md#nowhere) [d](#top)\n# Top\n",
		"docs/a.md":    "# There\n",
		"docs/self.md": "[x](#gone)\n",
	}
	got := brokenLinks(files, func(p string) bool { _, ok := files[p]; return ok })
	want := []string{
		"README.md: link to docs/a.md#nowhere: no such heading",
		"README.md: link to docs/b.md: no such file",
		"docs/self.md: link to #gone: no such heading",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
