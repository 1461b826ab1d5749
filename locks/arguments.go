package locks

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"mmrace/internal/locksites"
	"mmrace/kernelsim/ksync"
)

// argumentsText is arguments.txt: the written arguments for sites whose
// mutants the model (or the kernel) makes harmless.
//
//go:embed arguments.txt
var argumentsText string

// Argument is the written reason why a site's mutants cannot break
// anything: an equivalence argument, to be read next to a survivor.
type Argument struct {
	Key    string             // the site's key (locksites.Site.Key)
	Kernel string             // its kernel function, checked against the site
	Class  string             // its lock class, checked against the site
	Kinds  []ksync.MutantKind // the mutants it covers; nil: every one that applies to the site
	// Code, when set ("code: TEXT"), is text that a line of the site's
	// call chain holds: a site's #N follows the order of the chains'
	// positions, so a lock added above it renumbers it, and Check then
	// finds the argument on the wrong site.
	Code string
	Text string
	Line int // in arguments.txt
}

// ArgumentSet is arguments.txt parsed.
type ArgumentSet []Argument

// Arguments parses arguments.txt. Its format: blocks that start with a
// header line "[KEY KERNEL_FUNCTION CLASS]", an optional "kinds: K ..."
// line (default: every kind), then the argument's text up to the next
// header (an optional "code: TEXT" line after it: see Argument.Code);
// lines starting with "#" are comments. The KEY "*" stands for
// every site of the kernel function and class.
func Arguments() (ArgumentSet, error) { return parseArguments(argumentsText) }

func parseArguments(text string) (ArgumentSet, error) {
	var out ArgumentSet
	var cur *Argument
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "#"):
		case strings.HasPrefix(t, "["):
			// The kernel function may hold spaces ("user load|user store").
			f := strings.Fields(strings.Trim(t, "[]"))
			if !strings.HasSuffix(t, "]") || len(f) < 3 {
				return nil, fmt.Errorf("arguments.txt:%d: want [KEY KERNEL_FUNCTION CLASS]", i+1)
			}
			out = append(out, Argument{Key: f[0], Kernel: strings.Join(f[1:len(f)-1], " "), Class: f[len(f)-1], Line: i + 1})
			cur = &out[len(out)-1]
		case cur == nil:
			if t != "" {
				return nil, fmt.Errorf("arguments.txt:%d: text before the first [KEY KERNEL_FUNCTION CLASS] header", i+1)
			}
		case strings.HasPrefix(t, "kinds:") && cur.Text == "":
			cur.Kinds = nil
			for _, k := range strings.Fields(strings.TrimPrefix(t, "kinds:")) {
				kind, err := ksync.ParseMutantKind(k)
				if err != nil {
					return nil, fmt.Errorf("arguments.txt:%d: %v", i+1, err)
				}
				cur.Kinds = append(cur.Kinds, kind)
			}
		case strings.HasPrefix(t, "code:") && cur.Text == "":
			cur.Code = strings.TrimSpace(strings.TrimPrefix(t, "code:"))
		default:
			if cur.Text != "" || t != "" {
				cur.Text += t + "\n"
			}
		}
	}
	for i := range out {
		out[i].Text = strings.TrimSpace(strings.Join(strings.Fields(out[i].Text), " "))
		if out[i].Text == "" {
			return nil, fmt.Errorf("arguments.txt:%d: %s has no text", out[i].Line, out[i].Key)
		}
	}
	return out, nil
}

// For returns the argument for a mutant of kind at site, or "".
func (as ArgumentSet) For(site *locksites.Site, kind ksync.MutantKind) string {
	for _, a := range as {
		if a.matches(site) && (a.Kinds == nil || slices.Contains(a.Kinds, kind)) {
			return a.Text
		}
	}
	return ""
}

// matches reports whether the argument is about site: its key, or with the
// key "*" every site of its kernel function and lock class (one lock
// reached along several call paths, each a site of its own).
func (a *Argument) matches(site *locksites.Site) bool {
	if a.Key == "*" {
		return site.Kernel == a.Kernel && site.Class == a.Class
	}
	return a.Key == site.Key
}

// Check reports the arguments that refer to no site of ss, or whose kernel
// function, class or kinds disagree with the site.
func (as ArgumentSet) Check(ss *locksites.Sites) []error {
	var errs []error
	for _, a := range as {
		if a.Key == "*" {
			n := 0
			for _, s := range ss.List {
				if a.matches(s) {
					n++
					for _, k := range a.Kinds {
						if !slices.Contains(s.Kinds(), k) {
							errs = append(errs, fmt.Errorf("arguments.txt:%d: %s does not apply to %s", a.Line, k, s.Key))
						}
					}
				}
			}
			if n == 0 {
				errs = append(errs, fmt.Errorf("arguments.txt:%d: no site of %s %s", a.Line, a.Kernel, a.Class))
			}
			continue
		}
		s := ss.ByKey(a.Key)
		switch {
		case s == nil:
			errs = append(errs, fmt.Errorf("arguments.txt:%d: no site %s", a.Line, a.Key))
			continue
		case s.Kernel != a.Kernel || s.Class != a.Class:
			errs = append(errs, fmt.Errorf("arguments.txt:%d: %s is %s %s, the argument says %s %s", a.Line, a.Key, s.Kernel, s.Class, a.Kernel, a.Class))
		}
		for _, k := range a.Kinds {
			if !slices.Contains(s.Kinds(), k) {
				errs = append(errs, fmt.Errorf("arguments.txt:%d: %s does not apply to %s", a.Line, k, a.Key))
			}
		}
		if a.Code != "" && !chainHolds(ss.Dir, s, a.Code) {
			errs = append(errs, fmt.Errorf("arguments.txt:%d: no line of %s's call chain holds %q: the site was renumbered (a lock added before it?)", a.Line, a.Key, a.Code))
		}
	}
	return errs
}

// chainHolds reports whether a source line of the site's call chain holds
// code.
func chainHolds(dir string, s *locksites.Site, code string) bool {
	for _, p := range s.Chain {
		b, err := os.ReadFile(filepath.Join(dir, p.File))
		if err != nil {
			return false
		}
		if lines := strings.Split(string(b), "\n"); p.Line >= 1 && p.Line <= len(lines) && strings.Contains(lines[p.Line-1], code) {
			return true
		}
	}
	return false
}
