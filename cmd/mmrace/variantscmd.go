package main

import (
	"fmt"
	"strings"

	"mmrace/kernelsim"
)

var variantsCommand = command{
	name:  "variants",
	short: "list the modelled kernel bugs",
	long: `Variants lists the modelled kernel bugs: for each, its name (what
-variants takes), the kernel function whose safeguard it removes, the bug's
reference and what it leaves out. The faithful kernel is the empty set.`,
	run: variantsCmd,
}

// variantsCmd is `mmrace variants`: every modelled kernel bug, with the
// kernel function whose safeguard it removes, the bug's reference and what
// it leaves out; -json for tools.
func variantsCmd(e *env, args []string) (int, error) {
	fs := e.fs
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	names := fs.Bool("names", false, "print the names only, one a line (for scripts)")
	if err := e.parseNoArgs(args); err != nil {
		return exitUsage, err
	}
	out := e.stdout
	if *names {
		for _, v := range kernelsim.AllVariants {
			fmt.Fprintln(out, v.Name)
		}
		return exitClean, nil
	}
	if *asJSON {
		type variant struct {
			Name      string `json:"name"`
			Function  string `json:"function"`
			KernelRef string `json:"kernel_ref"`
			Removes   string `json:"removes"`
			// SemanticOnly is why a semantic-only search may not detect it.
			SemanticOnly string   `json:"semantic_only,omitempty"`
			Paths        []string `json:"paths,omitempty"`
		}
		list := make([]variant, 0, len(kernelsim.AllVariants))
		for _, v := range kernelsim.AllVariants {
			list = append(list, variant{Name: v.Name, Function: v.Function, KernelRef: v.KernelRef, Removes: v.Removes, SemanticOnly: v.SemanticOnly, Paths: v.Paths})
		}
		return exitClean, writeJSON(out, list)
	}
	w := 0
	for _, v := range kernelsim.AllVariants {
		w = max(w, len(v.Name))
	}
	fmt.Fprintf(out, "%-*s  %s\n", w, "VARIANT", "KERNEL FUNCTION")
	for _, v := range kernelsim.AllVariants {
		fmt.Fprintf(out, "\n%-*s  %s\n", w, v.Name, v.Function)
		for _, f := range []struct{ label, text string }{{"bug", v.KernelRef}, {"removes", v.Removes}, {"semantic-only", v.SemanticOnly}, {"paths", strings.Join(v.Paths, ", ")}} {
			for i, l := range wrap(f.text, 82) {
				label := ""
				if i == 0 {
					label = f.label + ":"
				}
				fmt.Fprintf(out, "    %-15s%s\n", label, l)
			}
		}
	}
	fmt.Fprintf(out, "\n%d variants; the faithful kernel is the empty set. Use one with -variants NAME.\n", len(kernelsim.AllVariants))
	return exitClean, nil
}

// wrap breaks s into lines of at most width bytes at spaces (a longer
// word gets a line of its own).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}
