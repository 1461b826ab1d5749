package main

import (
	"context"
	"flag"
	"io"
	"strings"
	"testing"
)

// flagsOf returns the flags command c defines, shown and hidden.
func flagsOf(t *testing.T, c *command) (shown, hidden []string) {
	t.Helper()
	e := &env{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, cmd: c, fs: flag.NewFlagSet(c.name, flag.ContinueOnError)}
	e.fs.SetOutput(io.Discard)
	if _, err := c.run(e, []string{"-h"}); err != flag.ErrHelp {
		t.Fatalf("%s -h: %v, want flag.ErrHelp", c.name, err)
	}
	e.fs.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Usage, deprecatedUsage) {
			hidden = append(hidden, f.Name)
		} else {
			shown = append(shown, f.Name)
		}
	})
	return shown, hidden
}

// TestCommandHelp: -h, -help, --help and mmrace help NAME print the
// command's usage line, description, every flag but the deprecated aliases
// and the exit statuses to stdout, and exit 0.
func TestCommandHelp(t *testing.T) {
	for _, c := range commands {
		shown, hidden := flagsOf(t, c)
		if len(shown) == 0 {
			t.Errorf("%s defines no flags", c.name)
		}
		var first string
		for _, form := range [][]string{{c.name, "-h"}, {c.name, "-help"}, {c.name, "--help"}, {"help", c.name}} {
			code, out, errs := runMain(form...)
			if code != exitClean || errs != "" {
				t.Errorf("%v: exit %d, stderr %q", form, code, errs)
			}
			if first == "" {
				first = out
			} else if out != first {
				t.Errorf("%v: the help differs from %s -h:\n%s", form, c.name, out)
			}
		}
		out := first
		for _, want := range []string{"usage: " + c.usageLine() + "\n", strings.Fields(c.long)[0] + " ", "\nexit status:\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s -h lacks %q:\n%s", c.name, want, out)
			}
		}
		if strings.Contains(out, "help requested") {
			t.Errorf("%s -h: %q", c.name, out)
		}
		for _, f := range shown {
			if !strings.Contains(out, "\n  -"+f+" ") && !strings.Contains(out, "\n  -"+f+"\n") {
				t.Errorf("%s -h does not show -%s:\n%s", c.name, f, out)
			}
		}
		for _, f := range hidden {
			if strings.Contains(out, "-"+f+" ") || strings.Contains(out, "-"+f+"\n") {
				t.Errorf("%s -h shows the deprecated -%s", c.name, f)
			}
		}
	}
}

// TestHelpDefaults: the defaults shown are the flags' own, not values
// given before -h.
func TestHelpDefaults(t *testing.T) {
	_, out, _ := runMain("run", "-runs", "5", "-rules=false", "-h")
	for _, want := range []string{"schedules to try (default 1000)", "semantic-only (default true)"} {
		if !strings.Contains(out, want) {
			t.Errorf("run -runs 5 -rules=false -h lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = runMain("stress", "-h")
	if !strings.Contains(out, "(default 1m0s)") {
		t.Errorf("stress -h does not show -duration's default 1m0s:\n%s", out)
	}
}

// TestUsage: mmrace help (and -h, -help, --help) lists every command with
// its description, on stdout.
func TestUsage(t *testing.T) {
	for _, form := range [][]string{{"help"}, {"-h"}, {"-help"}, {"--help"}, {"help", "help"}, {"help", "-h"}, {"help", "--help"}} {
		code, out, errs := runMain(form...)
		if code != exitClean || errs != "" {
			t.Errorf("%v: exit %d, stderr %q", form, code, errs)
		}
		for _, c := range commands {
			if !strings.Contains(out, "\n  "+strings.TrimSpace(c.name+" "+c.args)+" ") || !strings.Contains(out, c.short+"\n") {
				t.Errorf("%v: no line for %s:\n%s", form, c.name, out)
			}
		}
		if !strings.Contains(out, "exit status:\n  0  clean") {
			t.Errorf("%v: no exit statuses:\n%s", form, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "nosuch"}, `unknown command "nosuch"`},
		{[]string{"help", "run", "replay"}, "help: expected one command"},
	} {
		code, out, errs := runMain(tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", tc.args, code, out, errs, tc.want)
		}
	}
}

// flagEntries splits the flags section of a command's help into one entry
// per flag, by name.
func flagEntries(help string) map[string]string {
	out := map[string]string{}
	name := ""
	for _, l := range strings.Split(help, "\n") {
		switch {
		case strings.HasPrefix(l, "  -"):
			name = strings.Fields(l)[0][1:]
			out[name] = l
		case name != "" && strings.HasPrefix(l, "    \t"):
			out[name] += "\n" + l
		default:
			name = ""
		}
	}
	return out
}

// TestHelpFlagDefaults: in every command's -h, each flag with a default
// other than the zero value shows it, as "(default X)", once (a usage
// text that states a default of its own besides the flag package's shows
// two, which disagree sooner or later).
func TestHelpFlagDefaults(t *testing.T) {
	for _, c := range commands {
		_, out, _ := runMain(c.name, "-h")
		entries := flagEntries(out)
		e := &env{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, cmd: c, fs: flag.NewFlagSet(c.name, flag.ContinueOnError)}
		e.fs.SetOutput(io.Discard)
		c.run(e, []string{"-h"})
		e.fs.VisitAll(func(f *flag.Flag) {
			if strings.HasPrefix(f.Usage, deprecatedUsage) {
				return
			}
			entry, ok := entries[f.Name]
			if !ok {
				t.Errorf("%s -h: no entry for -%s:\n%s", c.name, f.Name, out)
				return
			}
			if n := strings.Count(entry, "(default "); n > 1 {
				t.Errorf("%s -h: -%s shows %d defaults:\n%s", c.name, f.Name, n, entry)
			}
			switch f.DefValue {
			case "", "0", "false", "0s":
				return
			}
			if !strings.Contains(entry, "(default ") && !strings.Contains(entry, "default:") {
				t.Errorf("%s -h: -%s (default %q) does not show its default:\n%s", c.name, f.Name, f.DefValue, entry)
			}
		})
	}
}
