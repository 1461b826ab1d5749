package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"mmrace/internal/scenario"
	"mmrace/oracle"
)

var diffCommand = command{
	name:  "diff",
	args:  "FILE",
	short: "compare the model with this machine's kernel, op by op",
	long: `Diff runs the ops of the program in FILE (or of a corpus scenario's
program) in program order on the model and, in real processes, on the
kernel of this machine, snapshots both after every op (the VMAs, the present
pages, the values stored, the op's result) and prints the first difference
with both layouts drawn. Ops without a host counterpart (migrate, reclaim,
exec) are skipped on the host and listed. Exit 0: no difference; 1: a
difference; 2: bad input, or this machine cannot run the host side (no C
compiler); 3: the host helper failed.`,
	run: diffCmd,
}

// diffCmd is `mmrace diff FILE`: run a program's ops in program order on
// the model and on the kernel of this machine, and print the first
// difference with both layouts drawn.
func diffCmd(e *env, args []string) (int, error) {
	fs := e.fs
	out := e.stdout
	variants := fs.String("variants", "", "comma-separated `variants` (default: the program's own, else the faithful kernel)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	file, err := e.parseFile(args, "a program or scenario file")
	if err != nil {
		return exitUsage, err
	}
	p, err := loadProgram(file, *variants)
	if err != nil {
		return exitUsage, err
	}
	rep, err := oracle.Diff(p, oracle.Options{})
	switch {
	case errors.Is(err, oracle.ErrUnavailable):
		return exitUsage, fmt.Errorf("%w: diff: %v", errUsage, err)
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
			return exitInternal, err
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
