package docgen

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"mmrace/internal/scenario"
	"mmrace/kernelsim"
)

// scenarioRun is what one corpus run directive of a variant expects.
type scenarioRun struct {
	file    string // the scenario's file name
	rules   bool
	outcome string // the first line of the expected output
}

// corpusRuns reads the run directives of the scenarios in dir by variant.
func corpusRuns(dir string) (map[string][]scenarioRun, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	out := map[string][]scenarioRun{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sc, err := scenario.Read(filepath.Base(f), string(b))
		if err != nil {
			return nil, err
		}
		for _, r := range sc.Runs {
			for _, v := range strings.Split(r.Args["variants"], ",") {
				if v == "" {
					continue
				}
				first, _, _ := strings.Cut(r.Want, "\n")
				if strings.HasPrefix(first, "ok:") {
					first = "ok" // the step count changes with every new scheduling point
				}
				out[v] = append(out[v], scenarioRun{file: filepath.Base(f), rules: r.Args["rules"] != "off", outcome: first})
			}
		}
	}
	return out, nil
}

// Variants returns docs/variants.md, listing for each variant the corpus
// scenarios (in corpusDir) that run it.
func Variants(corpusDir string) (string, error) {
	runs, err := corpusRuns(corpusDir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(header("kernelsim/variants.go (AllVariants, TestOnlyVariants) and the run directives of corpus/*.txt"))
	b.WriteString(`# Variants

A variant is one historical kernel bug or plausible regression, named
` + "`<kernel-symbol>-<defect>`" + ` and switched on at the exact place in the model
where the kernel's safeguard lives. The faithful kernel is the empty set;
variants compose. Switch one on with ` + "`-variants NAME`" + ` (` + "`run`" + `, ` + "`replay`" + `,
` + "`minimize`" + `, ` + "`stress`" + `, ` + "`diff`" + `), a program's ` + "`variants NAME,...`" + ` line, or
` + "`MMRACE_VARIANTS=NAME`" + ` for the fuzz targets. ` + "`mmrace variants`" + ` prints the
same list; ` + "`mmrace hunt`" + ` searches every variant until it is detected.

The bug labels (D.1, B.2, ...) number the entries of the kernel notes this
model was written from; [references.md](references.md) says what each one
is. "Interval-tree steps" says that the variant lets a task at an interval
tree without the tree's lock, so the harness makes every store and every
iterator read of the trees a scheduling point (see
[architecture.md](architecture.md#the-interval-trees)).

Under "corpus", each scenario that runs the variant, with the verdict it
expects semantic-only (rules off) and with rule checks on.
`)
	section := func(vs []kernelsim.Variant) {
		for _, v := range vs {
			fmt.Fprintf(&b, "\n## `%s`\n\n", v.Name)
			fmt.Fprintf(&b, "- **Kernel function:** %s\n", v.Function)
			fmt.Fprintf(&b, "- **Bug:** %s\n", v.KernelRef)
			fmt.Fprintf(&b, "- **Removes:** %s\n", v.Removes)
			if v.UnlockedTrees {
				b.WriteString("- **Interval-tree steps:** yes\n")
			}
			rs := runs[v.Name]
			if len(rs) == 0 {
				b.WriteString("- **Corpus:** none\n")
				continue
			}
			b.WriteString("- **Corpus:**\n")
			for i := 0; i < len(rs); {
				file := rs[i].file
				var seen []string
				for ; i < len(rs) && rs[i].file == file; i++ {
					mode := "semantic-only"
					if rs[i].rules {
						mode = "rules on"
					}
					seen = append(seen, fmt.Sprintf("%s `%s`", mode, rs[i].outcome))
				}
				fmt.Fprintf(&b, "  - [%s](../corpus/%s): %s\n", strings.TrimSuffix(file, ".txt"), file, strings.Join(seen, "; "))
			}
		}
	}
	fmt.Fprintf(&b, "\n%d variants.\n", len(kernelsim.AllVariants))
	section(kernelsim.AllVariants)
	b.WriteString(`
# Test-only variants

These model no kernel bug and are not listed by ` + "`mmrace variants`" + `: each
breaks something on purpose so that a test can show that a check fails.
`)
	section(kernelsim.TestOnlyVariants)
	return b.String(), nil
}
