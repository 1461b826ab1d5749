package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"mmrace/internal/scenario"
	"mmrace/oracle"
)

// diffCmd is `mmrace diff FILE`: run a program's ops in program order on
// the model and on the kernel of this machine, and print the first
// difference with both layouts drawn. Exit 0: no difference; 1: a
// difference; 2: bad input, or this machine cannot run the host side; 3:
// the host helper failed (an internal error).
func diffCmd(args []string, out io.Writer) (int, error) {
	fs := newFlags("diff")
	variants := fs.String("variants", "", "comma-separated `variants` (default: the program's own, else the faithful kernel)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return 2, fmt.Errorf("%w: diff: expected a program or scenario file before the flags", errUsage)
	}
	file := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return 2, err
	}
	p, err := loadProgram(file, *variants)
	if err != nil {
		return 2, err
	}
	rep, err := oracle.Diff(p, oracle.Options{})
	switch {
	case errors.Is(err, oracle.ErrUnavailable):
		return 2, fmt.Errorf("%w: diff: %v", errUsage, err)
	case err != nil:
		fmt.Fprintf(out, "HOST HELPER FAILED\n%v\n", err)
		return exitInternal, nil
	}
	lines := oracle.OpLines(programText(file))
	if *asJSON {
		type doc struct {
			File string `json:"file"`
			oracle.Summary
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc{File: file, Summary: rep.Summary(lines)}); err != nil {
			return 1, err
		}
	} else {
		fmt.Fprintf(out, "%s: %d ops on the model and on this machine's kernel\n\n", file, len(rep.Steps))
		rep.Format(out, lines)
		if rep.Differs() {
			again := ""
			if *variants != "" {
				again = " -variants=" + *variants
			}
			fmt.Fprintf(out, "\nTo reproduce:\n  go run ./cmd/mmrace diff %s%s\n", file, again)
		}
	}
	if rep.Differs() {
		return exitFinding, nil
	}
	return exitClean, nil
}

// programText returns the text kernelsim.Parse read from file (for the
// ops' line numbers; "" if it cannot be read again).
func programText(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	text, _ := scenario.Source(file, string(b))
	return text
}
