package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"mmrace/kernelsim"
)

// variantsCmd is `mmrace variants`: every modelled kernel bug, with the
// kernel function whose safeguard it removes, the bug's reference and what
// it leaves out; -json for tools.
func variantsCmd(args []string, out io.Writer) (int, error) {
	fs := newFlags("variants")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return 2, err
	}
	if *asJSON {
		type variant struct {
			Name      string `json:"name"`
			Function  string `json:"function"`
			KernelRef string `json:"kernel_ref"`
			Removes   string `json:"removes"`
		}
		list := make([]variant, 0, len(kernelsim.AllVariants))
		for _, v := range kernelsim.AllVariants {
			list = append(list, variant(v))
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return 0, enc.Encode(list)
	}
	w := 0
	for _, v := range kernelsim.AllVariants {
		w = max(w, len(v.Name))
	}
	fmt.Fprintf(out, "%-*s  %s\n", w, "VARIANT", "KERNEL FUNCTION")
	for _, v := range kernelsim.AllVariants {
		fmt.Fprintf(out, "\n%-*s  %s\n", w, v.Name, v.Function)
		for _, f := range []struct{ label, text string }{{"bug", v.KernelRef}, {"removes", v.Removes}} {
			for i, l := range wrap(f.text, 88) {
				label := ""
				if i == 0 {
					label = f.label + ":"
				}
				fmt.Fprintf(out, "    %-9s%s\n", label, l)
			}
		}
	}
	fmt.Fprintf(out, "\n%d variants; the faithful kernel is the empty set. Use one with -variants NAME.\n", len(kernelsim.AllVariants))
	return 0, nil
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
