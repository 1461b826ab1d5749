// Package scenario reads the corpus's datadriven scenario files without
// running them: the program of the first `program` directive and the
// arguments and expected output of every `run` directive. cmd/mmrace uses
// it to replay a scenario and to check that the replay reproduces what the
// file expects.
package scenario

import (
	"fmt"
	"os"
	"strings"

	"mmrace/kernelsim"
)

// Scenario is what a scenario file holds.
type Scenario struct {
	Name string // the file name, used in error messages
	// Program is the input of the first program directive, preceded by
	// blank lines so that the line numbers of kernelsim.Parse's errors are
	// the file's.
	Program string
	Line    int // the line of the first program directive
	Runs    []Run
}

// Run is one `run` directive.
type Run struct {
	Line int               // the directive's line
	Args map[string]string // variants=a,b rules=off trace=20; a list (a,b) is joined with commas
	Want string            // the expected output, with a final newline
}

// Is reports whether text looks like a datadriven scenario rather than a
// plain kernelsim program: it has a `----` separator line, which no
// program line can be.
func Is(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimRight(l, " \t\r") == "----" {
			return true
		}
	}
	return false
}

// Read parses a scenario file. It fails when the file has no program
// directive or a directive is not terminated by `----`.
func Read(name, text string) (*Scenario, error) {
	sc := &Scenario{Name: name}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			i++
			continue
		}
		cmd, args, err := parseDirective(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, i+1, err)
		}
		start := i
		i++
		var input []string
		for i < len(lines) && strings.TrimRight(lines[i], " \t\r") != "----" {
			input = append(input, lines[i])
			i++
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s:%d: %s: no ---- line after the directive's input", name, start+1, cmd)
		}
		i++ // the separator
		var out []string
		if i < len(lines) && strings.TrimRight(lines[i], " \t\r") == "----" {
			// A blank line inside the output: it ends at a doubled separator.
			i++
			for i+1 < len(lines) && !(lines[i] == "----" && lines[i+1] == "----") {
				out = append(out, lines[i])
				i++
			}
			i += 2
		} else {
			for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
				out = append(out, lines[i])
				i++
			}
		}
		want := strings.Join(out, "\n")
		if want != "" {
			want += "\n"
		}
		switch cmd {
		case "program":
			if sc.Line == 0 {
				sc.Line = start + 1
				sc.Program = strings.Repeat("\n", start+1) + strings.Join(input, "\n") + "\n"
			}
		case "run":
			sc.Runs = append(sc.Runs, Run{Line: start + 1, Args: args, Want: want})
		}
	}
	if sc.Line == 0 {
		return nil, fmt.Errorf("%s: no program directive (a scenario defines its program with \"program\", its input ending at a ---- line)", name)
	}
	return sc, nil
}

// Source returns the kernelsim program text of a file: a scenario's
// program block (with the file's line numbers), or a plain program file's
// whole text.
func Source(name, text string) (string, error) {
	if !Is(text) {
		return text, nil
	}
	sc, err := Read(name, text)
	if err != nil {
		return "", err
	}
	return sc.Program, nil
}

// Parse parses the scenario's program; errors name the file and its line.
func (sc *Scenario) Parse() (*kernelsim.Program, error) {
	return kernelsim.Parse(sc.Name, sc.Program)
}

// ReadProgram reads the scenario file at path and parses its program.
func ReadProgram(path string) (*kernelsim.Program, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc, err := Read(path, string(b))
	if err != nil {
		return nil, err
	}
	return sc.Parse()
}

// Summary returns the part of a run's expected output that
// harness.Report.Summary prints: everything before the story or narrative.
func (r Run) Summary() string {
	s, _, _ := strings.Cut(r.Want, "story:\n")
	s, _, _ = strings.Cut(s, "narrative:\n")
	return s
}

// parseDirective splits "run variants=a,b rules=off" into its command and
// arguments; a value may be a parenthesized list "(a,b)".
func parseDirective(line string) (string, map[string]string, error) {
	f := strings.Fields(line)
	args := map[string]string{}
	for _, a := range f[1:] {
		k, v, _ := strings.Cut(a, "=")
		if k == "" {
			return "", nil, fmt.Errorf("%s: malformed argument %q", f[0], a)
		}
		v = strings.TrimSuffix(strings.TrimPrefix(v, "("), ")")
		args[k] = v
	}
	return f[0], args, nil
}
