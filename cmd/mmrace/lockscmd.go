package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mmrace/internal/locksites"
	"mmrace/kernelsim/ksync"
	"mmrace/locks"
)

var locksCommand = command{
	name:  "locks",
	short: "the lock-necessity map: remove each lock acquisition of the model and search for a consequence",
	long: `Locks finds every lock acquisition site of the faithful model in its
source (kernelsim/*.go, read with go/types: it needs the source mmrace was
built from, and the go command) and, for each site and each mutant kind that
applies — remove (the acquisition and its release vanish),
ignore-trylock-failure (a failed trylock proceeds holding nothing, and
its unlock releases the holder's lock),
release-early (the lock is released at the end of the first step it
protects) — and every TLB flush site (lock class tlb_flush: each call of
flush_tlb_range, flush_tlb_mm or tlb_finish_mmu, see kernelsim/flushmutant.go)
with its two mutant kinds — remove (the flush does not happen; tlb_finish_mmu
still frees its pages) and flush-after-unlock (the flush is deferred past
the release of the innermost lock it was due under, and of the other locks
of its class held) — runs the faithful search semantic-only with the mutant
for -budget, on every core. Per mutant it prints killed (the semantic
invariant, executions, seconds; the minimized counterexample is written
under -out as a scenario and an HTML timeline, with the command that
replays it), no consequence in N executions (with how often the mutation
took effect, and the written argument from locks/arguments.txt or "open
gap"), or not exercised (the mutation never took effect). Then the kill
rate over exercised mutants, over the lock sites and the flush sites
apart, per lock class, per kernel file and per mutant kind. A kill is
a semantic invariant or a deadlock, never a rule check; internal errors of
the harness are never kills.

-out holds the state (locks-state.json, written after every mutant),
the scenarios, the timelines and index.html. A rerun with the same -out,
-budget and -seed continues where the last one stopped; Ctrl-C (SIGINT)
stops and prints what was found so far. -list prints the sites and runs
nothing. -sites keeps the sites named by a site key (or a glob of keys), a
kernel function or kernel file ("mm/memory.c"), a Go function, a lock
class ("tlb_flush": the flush sites) or a kernelsim file ("fault.go",
"fault.go:249"), comma-separated.

Exit status 0 means the run completed or was interrupted (survivors are
information, not failures); 3 that the harness failed in some search, or
could not write its output.`,
	run: locksCmd,
}

// budgetFlag is -budget: executions, a duration, or both ("2000,30s").
type budgetFlag struct {
	runs int
	dur  time.Duration
}

func (b *budgetFlag) String() string {
	var parts []string
	if b.runs > 0 {
		parts = append(parts, strconv.Itoa(b.runs))
	}
	if b.dur > 0 {
		parts = append(parts, b.dur.String())
	}
	return strings.Join(parts, ",")
}

func (b *budgetFlag) Set(s string) error {
	*b = budgetFlag{}
	for _, p := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(p); err == nil && n > 0 {
			b.runs = n
			continue
		}
		if d, err := time.ParseDuration(p); err == nil && d > 0 {
			b.dur = d
			continue
		}
		return fmt.Errorf("want executions (2000), a duration (30s) or both (2000,30s), got %q", p)
	}
	return nil
}

// locksCmd is `mmrace locks`: the lock-necessity map.
func locksCmd(e *env, args []string) (int, error) {
	fs := e.fs
	budget := &budgetFlag{runs: 2000}
	fs.Var(budget, "budget", "search `budget` per mutant: executions (2000), a duration (30s) or both (2000,30s), whichever ends first")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel `workers` (mutants searched at once)")
	outDir := fs.String("out", "locks-out", "`directory` for the state, the scenarios, the timelines and index.html")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	sites := fs.String("sites", "", "comma-separated `sites` to mutate: keys or globs of keys, kernel functions or files, Go functions, lock classes, kernelsim files or file:line (default: all)")
	kinds := fs.String("kinds", "", "comma-separated mutant `kinds`: remove, ignore-trylock-failure, release-early, flush-after-unlock (default: all)")
	seed := fs.Uint64("seed", 1, "search `seed` (each mutant's search derives its own from it)")
	minb := fs.Duration("minimize", 10*time.Second, "minimization `budget` per killed mutant")
	list := fs.Bool("list", false, "list the acquisition and flush sites found in the source and exit")
	if err := e.parseNoArgs(args); err != nil {
		return exitUsage, err
	}
	if *workers <= 0 || *minb <= 0 {
		return exitUsage, fmt.Errorf("%w: locks: -workers and -minimize must be positive", errUsage)
	}
	var ks []ksync.MutantKind
	if *kinds != "" {
		for _, k := range strings.Split(*kinds, ",") {
			kind, err := ksync.ParseMutantKind(strings.TrimSpace(k))
			if err != nil {
				return exitUsage, fmt.Errorf("%w: -kinds: %v", errUsage, err)
			}
			ks = append(ks, kind)
		}
	}
	if !*list {
		if err := locks.CheckOutDir(*outDir); err != nil {
			return exitUsage, fmt.Errorf("%w: -out: %v", errUsage, err)
		}
	}
	ss, err := locksites.Find()
	if err != nil {
		return exitInternal, fmt.Errorf("locks: %v", err)
	}
	keep, err := siteFilter(ss, *sites)
	if err != nil {
		return exitUsage, err
	}
	if *list {
		return exitClean, listSites(e, ss, keep, *asJSON)
	}
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C kills at once
	o := locks.Options{Sites: ss, Keep: keep, Kinds: ks, Runs: budget.runs, Budget: budget.dur, MinimizeBudget: *minb,
		Workers: *workers, Seed: *seed, OutDir: *outDir, Context: ctx}
	if !*asJSON {
		n := 0
		o.Progress = func(r locks.Result) {
			n++
			fmt.Fprintf(e.stderr, "[%d] %s: %s\n", n, r.ID, r.Cell())
		}
	}
	rep, err := locks.Run(o)
	switch {
	case errors.Is(err, locks.ErrNoMutants):
		return exitUsage, fmt.Errorf("%w: locks: no mutant selected (-sites %q -kinds %q; sites only reached under a variant are not mutated)", errUsage, *sites, *kinds)
	case errors.Is(err, locks.ErrBadState):
		return exitUsage, fmt.Errorf("%w: %v", errUsage, err)
	case err != nil:
		return exitInternal, err
	}
	index, err := rep.WriteIndex(*outDir)
	if err != nil {
		return exitInternal, fmt.Errorf("index.html: %v", err)
	}
	if *asJSON {
		if err := writeJSON(e.stdout, rep); err != nil {
			return exitInternal, err
		}
	} else {
		rep.WriteTable(e.stdout)
		fmt.Fprintf(e.stdout, "\nindex: %s\n", index)
	}
	if rep.InternalErrors() > 0 {
		return exitInternal, nil
	}
	return exitClean, nil
}

// siteFilter turns -sites into a predicate; a term that names no site is a
// usage error.
func siteFilter(ss *locksites.Sites, spec string) (func(*locksites.Site) bool, error) {
	if spec == "" {
		return nil, nil
	}
	var terms []string
	for _, t := range strings.Split(spec, ",") {
		if t = strings.TrimSpace(t); t != "" {
			terms = append(terms, t)
		}
	}
	match := func(t string, s *locksites.Site) bool {
		if ok, _ := path.Match(t, s.Key); ok {
			return true
		}
		return t == s.Func || t == s.Class || t == s.Pos().File || t == s.Pos().String() ||
			slices.Contains(strings.Split(s.Kernel, "|"), t) || slices.Contains(strings.Split(locks.KernelFile(s.Kernel), "|"), t)
	}
	for _, t := range terms {
		if _, err := path.Match(t, ""); err != nil {
			return nil, fmt.Errorf("%w: -sites: %q: %v", errUsage, t, err)
		}
		if !slices.ContainsFunc(ss.List, func(s *locksites.Site) bool { return match(t, s) }) {
			return nil, fmt.Errorf("%w: -sites: %q names no acquisition site (mmrace locks -list lists them)", errUsage, t)
		}
	}
	return func(s *locksites.Site) bool {
		return slices.ContainsFunc(terms, func(t string) bool { return match(t, s) })
	}, nil
}

// listSites prints the sites (-list).
func listSites(e *env, ss *locksites.Sites, keep func(*locksites.Site) bool, asJSON bool) error {
	var out []*locksites.Site
	for _, s := range ss.List {
		if keep == nil || keep(s) {
			out = append(out, s)
		}
	}
	if asJSON {
		return writeJSON(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tKERNEL FUNCTION\tFILE\tLOCK\tPRIMITIVE\tWHERE (kernelsim)\tMUTANTS")
	for _, s := range out {
		var ks []string
		for _, k := range s.Kinds() {
			ks = append(ks, k.String())
		}
		mut := strings.Join(ks, ",")
		if s.Variant != "" {
			mut = "none: only under variant " + s.Variant
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Key, s.Kernel, locks.KernelFile(s.Kernel), s.Lock(), s.Primitive, s.Where(), mut)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "%d sites in %s\n", len(out), ss.Dir)
	return nil
}
