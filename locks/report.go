package locks

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"mmrace/internal/atomicfile"
	"mmrace/kernelsim/ksync"
)

// Tally counts the verdicts of a group of mutants.
type Tally struct {
	Mutants       int `json:"mutants"`
	Killed        int `json:"killed"`
	NoConsequence int `json:"no_consequence"`
	Argued        int `json:"argued"` // survivors with a written argument
	// ArguedGaps are the argued survivors whose argument names an open
	// gap of the model ("Open gap: ..."), not an equivalence.
	ArguedGaps   int     `json:"argued_gaps"`
	OpenGaps     int     `json:"open_gaps"` // survivors without one
	NotExercised int     `json:"not_exercised"`
	Internal     int     `json:"internal_errors"`
	KillRate     float64 `json:"kill_rate"` // killed / (killed + no consequence); 0 when none exercised
}

func (t *Tally) add(r Result) {
	t.Mutants++
	switch r.Verdict {
	case Killed:
		t.Killed++
	case NoConsequence:
		t.NoConsequence++
		if r.Argument != "" {
			t.Argued++
			if namesGap(r.Argument) {
				t.ArguedGaps++
			}
		} else {
			t.OpenGaps++
		}
	case NotExercised:
		t.NotExercised++
	default:
		t.Internal++
	}
	if n := t.Killed + t.NoConsequence; n > 0 {
		t.KillRate = float64(t.Killed) / float64(n)
	}
}

// Rate is the kill rate for people: "12/20 = 60%", or "-" when nothing was
// exercised.
func (t Tally) Rate() string {
	n := t.Killed + t.NoConsequence
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d = %.0f%%", t.Killed, n, 100*t.KillRate)
}

// ScoreRate is the mutation score for people: killed over the exercised
// mutants that are not argued equivalent (a survivor whose written
// argument shows the lock is not needed, so that no search could kill it;
// an argument that names an open gap of the model counts as a gap), "-"
// when there are none.
func (t Tally) ScoreRate() string {
	n := t.Killed + t.OpenGaps + t.ArguedGaps
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d = %.0f%%", t.Killed, n, 100*float64(t.Killed)/float64(n))
}

// namesGap reports whether a written argument explains a survivor by an
// open gap of the model rather than by an equivalence.
func namesGap(arg string) bool { return strings.Contains(strings.ToLower(arg), "open gap") }

// Summary is the report's totals, per lock class (family), per kernel
// file and per mutant kind; Locks and Flushes split All between the lock
// acquisition sites and the TLB flush sites.
type Summary struct {
	All     Tally            `json:"all"`
	Locks   Tally            `json:"lock_sites"`
	Flushes Tally            `json:"flush_sites"`
	ByClass map[string]Tally `json:"by_class"`
	ByFile  map[string]Tally `json:"by_kernel_file"`
	ByKind  map[string]Tally `json:"by_kind"`
}

func summarize(rs []Result) Summary {
	s := Summary{ByClass: map[string]Tally{}, ByFile: map[string]Tally{}, ByKind: map[string]Tally{}}
	for _, r := range rs {
		s.All.add(r)
		if r.Class == ksync.FlushClass {
			s.Flushes.add(r)
		} else {
			s.Locks.add(r)
		}
		for _, g := range []struct {
			m map[string]Tally
			k string
		}{{s.ByClass, r.Class}, {s.ByFile, r.KernelFile}, {s.ByKind, r.Kind}} {
			t := g.m[g.k]
			t.add(r)
			g.m[g.k] = t
		}
	}
	return s
}

// Cell is a result's verdict column.
func (r Result) Cell() string {
	switch r.Verdict {
	case Killed:
		return fmt.Sprintf("killed: %s, %d executions, %.1fs", r.Invariant, r.Executions, r.Seconds)
	case NoConsequence:
		arg := "open gap"
		if r.Argument != "" {
			arg = "argued: " + firstSentence(r.Argument)
		}
		limits := ""
		if r.HarnessLimits > 0 {
			limits = fmt.Sprintf(", %d runs cut short by the step limit or the watchdog", r.HarnessLimits)
		}
		pairs := ""
		if r.PairRuns > 0 {
			pairs = fmt.Sprintf("; %d runs raced %d tasks that reached the site, or ops of their verbs, against adversaries", r.PairRuns, r.PairSources)
		}
		return fmt.Sprintf("no consequence in %d executions (mutation applied %d times in %d runs%s%s); %s", r.Executions, r.Applied, r.RunsApplied, pairs, limits, arg)
	case NotExercised:
		arg := ""
		if r.Argument != "" {
			arg = "; argued: " + firstSentence(r.Argument)
		}
		if r.Reached == 0 {
			return fmt.Sprintf("not exercised: the site never ran in %d executions%s", r.Executions, arg)
		}
		return fmt.Sprintf("not exercised: the site ran %d times in %d executions, %s%s", r.Reached, r.Executions, noEffect(r.Kind), arg)
	}
	return fmt.Sprintf("MMRACE INTERNAL ERROR in %d runs (never a kill; a harness bug)", r.InternalErrors)
}

// noEffect says why a reached mutant never took effect.
func noEffect(kind string) string {
	switch kind {
	case "ignore-trylock-failure":
		return "the trylock never failed"
	case "release-early":
		return "the lock was never held past the first step it protects"
	case "flush-after-unlock":
		return "the flush was never deferred"
	}
	return "the acquisition never mattered (already write-locked in the epoch, or nested)"
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// WriteTable prints the per-mutant table and the summary.
func (rep *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL FUNCTION\tLOCK\tWHERE (kernelsim)\tMUTANT (-mutant, -sites)\tVERDICT")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Kernel, r.Lock, r.Where, r.ID, r.Cell())
	}
	tw.Flush()
	s := rep.Summary
	fmt.Fprintf(w, "\nsummary (semantic-only; a kill is a semantic invariant or a deadlock, never a rule check or an internal error):\n")
	fmt.Fprintf(w, "  %d sites found in the source (%d lock acquisitions, %d TLB flushes; %d only reached under a variant, not mutated), %d mutants selected, %d finished\n",
		rep.Sites, rep.Sites-rep.FlushSites, rep.FlushSites, len(rep.VariantOnly), rep.Mutants, len(rep.Results))
	never := 0
	for _, r := range rep.Results {
		if r.Verdict == NotExercised && r.Reached == 0 {
			never++
		}
	}
	fmt.Fprintf(w, "  killed %d, no consequence %d (%d argued, %d open gaps), not exercised %d (%d: the site never ran; %d: it ran, the mutation never applied), internal errors %d\n",
		s.All.Killed, s.All.NoConsequence, s.All.Argued, s.All.OpenGaps, s.All.NotExercised, never, s.All.NotExercised-never, s.All.Internal)
	fmt.Fprintf(w, "  kill rate over exercised mutants: %s\n", s.All.Rate())
	fmt.Fprintf(w, "  mutation score (killed over exercised mutants not argued equivalent: the argued survivors left out): %s\n", s.All.ScoreRate())
	if s.Flushes.Mutants > 0 {
		fmt.Fprintf(w, "  kill rate over exercised lock-site mutants: %s\n", s.Locks.Rate())
		fmt.Fprintf(w, "  kill rate over exercised TLB flush-site mutants: %s (killed %d, no consequence %d (%d argued, %d open gaps), not exercised %d)\n",
			s.Flushes.Rate(), s.Flushes.Killed, s.Flushes.NoConsequence, s.Flushes.Argued, s.Flushes.OpenGaps, s.Flushes.NotExercised)
	}
	budget := []string{}
	if rep.Runs > 0 {
		budget = append(budget, fmt.Sprintf("%d executions", rep.Runs))
	}
	if rep.Budget > 0 {
		budget = append(budget, time.Duration(rep.Budget*float64(time.Second)).String())
	}
	resumed := ""
	if rep.Resumed > 0 {
		resumed = fmt.Sprintf(" (%d mutants taken from the state file)", rep.Resumed)
	}
	fmt.Fprintf(w, "  budget per mutant: %s; %d workers; seed %d; wall time %s%s\n", strings.Join(budget, " or "), rep.Workers, rep.Seed,
		time.Duration(rep.Seconds*float64(time.Second)).Round(time.Second), resumed)
	for _, g := range []struct {
		title string
		m     map[string]Tally
	}{{"per lock class", s.ByClass}, {"per kernel file", s.ByFile}, {"per mutant kind", s.ByKind}} {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  \tKILL RATE\tKILLED\tNO CONSEQUENCE\tOPEN GAPS\tNOT EXERCISED\tINTERNAL")
		for _, k := range sortedKeys(g.m) {
			t := g.m[k]
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\t%d\n", k, t.Rate(), t.Killed, t.NoConsequence, t.OpenGaps, t.NotExercised, t.Internal)
		}
		tw.Flush()
	}
	if len(rep.VariantOnly) > 0 {
		fmt.Fprintf(w, "\nonly reached under a variant (not mutated): %s\n", strings.Join(rep.VariantOnly, ", "))
	}
	if rep.InternalErrors() > 0 {
		fmt.Fprintf(w, "\nMMRACE INTERNAL ERROR in the search of %d mutants (the harness failed; never counted as kills). The first:\n", rep.InternalErrors())
		for _, r := range rep.Results {
			if r.FirstInternal != "" {
				fmt.Fprintf(w, "%s: %s\n", r.ID, r.FirstInternal)
				break
			}
		}
	}
	if n := rep.FaithfulFindings(); n > 0 {
		fmt.Fprintf(w, "\nFAILURES NOT CAUSED BY THE MUTANT in the search of %d mutants (never counted as kills: the faithful kernel fails the same program, a candidate kernel race or a bug of the model, or the mutation did not take effect in the run). The first:\n", n)
		for _, r := range rep.Results {
			if r.FirstFaithful != "" {
				fmt.Fprintf(w, "%s: %s\n", r.ID, r.FirstFaithful)
				break
			}
		}
	}
	if rep.Interrupted {
		fmt.Fprintf(w, "\nINTERRUPTED: %d of %d mutants not run; rerun with the same -out, -budget and -seed to continue.\n", len(rep.NotRun), rep.Mutants)
	}
}

func sortedKeys(m map[string]Tally) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

//go:embed index.html.tmpl
var indexText string

var indexTmpl = template.Must(template.New("index").Funcs(template.FuncMap{
	"rel": func(dir, path string) string {
		if r, err := filepath.Rel(dir, path); err == nil {
			return filepath.ToSlash(r)
		}
		return path
	},
}).Parse(indexText))

// WriteIndex writes dir/index.html: the table with a link to each
// counterexample's timeline and scenario.
func (rep *Report) WriteIndex(dir string) (string, error) {
	path := filepath.Join(dir, "index.html")
	f, err := atomicfile.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if err := indexTmpl.Execute(f, struct {
		*Report
		Dir string
	}{rep, dir}); err != nil {
		return "", err
	}
	return path, f.Commit()
}
