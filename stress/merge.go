package stress

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"mmrace/reach"
)

// Merge combines the results of shards of one run (same mode, strategy,
// variants, rules, seed and budget; disjoint shards of one count) into the
// result of the shards together: executions, failures and internal errors
// summed; findings by signature, counts summed, example and reproducer
// those of the lowest execution index; Seconds the longest shard's (the
// shards run side by side), PerSecond the executions over it; goroutine
// and RSS figures the largest; reach cells (-reach) summed. Reproducer
// paths are kept as they are (see MergeFiles). Merging all N shards of a
// controlled-mode run gives that run's result.
func Merge(results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, fmt.Errorf("no results to merge")
	}
	first := results[0]
	out := &Result{Mode: first.Mode, Strategy: first.Strategy, Variants: first.Variants, Rules: first.Rules, Seed: first.Seed, Runs: first.Runs}
	count := 0
	seen := map[int]bool{}
	found := map[string]*Finding{}
	var rm *reach.Matrix
	for _, r := range results {
		if r.Mode != out.Mode || r.Strategy != out.Strategy || r.Variants != out.Variants || r.Rules != out.Rules || r.Seed != out.Seed || r.Runs != out.Runs {
			return nil, fmt.Errorf("results of different runs: %s and %s", r.run(), out.run())
		}
		if len(r.Shards) == 0 {
			return nil, fmt.Errorf("a result without shards (not a stress summary?)")
		}
		for _, s := range r.Shards {
			sh, err := ParseShard(s)
			if err != nil {
				return nil, err
			}
			if count == 0 {
				count = sh.Count
			}
			if sh.Count != count {
				return nil, fmt.Errorf("shard %s among shards of %d: different counts", sh, count)
			}
			if seen[sh.Index] {
				return nil, fmt.Errorf("shard %s given twice", sh)
			}
			seen[sh.Index] = true
			out.Shards = append(out.Shards, s)
		}
		out.Executions += r.Executions
		out.Failures += r.Failures
		out.InternalErrors += r.InternalErrors
		if out.FirstInternal == "" {
			out.FirstInternal = r.FirstInternal
		}
		out.Seconds = max(out.Seconds, r.Seconds)
		out.GoroutinesStart = max(out.GoroutinesStart, r.GoroutinesStart)
		out.GoroutinesEnd = max(out.GoroutinesEnd, r.GoroutinesEnd)
		out.RSSStartKB = max(out.RSSStartKB, r.RSSStartKB)
		out.RSSEndKB = max(out.RSSEndKB, r.RSSEndKB)
		out.Interrupted = out.Interrupted || r.Interrupted
		if len(r.ReachCells) > 0 || r.Reach != nil {
			if rm == nil {
				rm = reach.New()
			}
			if r.Reach != nil {
				rm.Merge(r.Reach)
			} else {
				rm.Merge(reach.FromList(r.ReachCells, r.Executions))
			}
		}
		for _, f := range r.Findings {
			m, ok := found[f.Signature]
			if !ok {
				c := f
				found[f.Signature] = &c
				continue
			}
			m.Count += f.Count
			if f.Index < m.Index {
				m.Index, m.Example, m.Reproducer = f.Index, f.Example, f.Reproducer
			}
		}
	}
	slices.SortFunc(out.Shards, func(a, b string) int {
		x, _ := ParseShard(a)
		y, _ := ParseShard(b)
		return cmp.Compare(x.Index, y.Index)
	})
	if out.Seconds > 0 {
		out.PerSecond = float64(out.Executions) / out.Seconds
	}
	for _, f := range found {
		out.Findings = append(out.Findings, *f)
	}
	if rm != nil {
		out.Reach, out.ReachCells = rm, rm.List()
	}
	slices.SortFunc(out.Findings, func(a, b Finding) int { return cmp.Compare(a.Signature, b.Signature) })
	return out, nil
}

// Complete tells whether the result covers every shard of its run.
func (r *Result) Complete() bool {
	if len(r.Shards) == 0 {
		return false
	}
	sh, err := ParseShard(r.Shards[0])
	return err == nil && len(r.Shards) == sh.Count
}

func (r *Result) run() string {
	return fmt.Sprintf("(%s %s, %s, rules %v, seed %d, runs %d)", r.Mode, r.Strategy, r.Variants, r.Rules, r.Seed, r.Runs)
}

// SummaryFile is the name MergeFiles gives the merged summary in its
// directory.
const SummaryFile = "summary.json"

// MergeFiles reads the JSON summaries of shards of one run (mmrace stress
// -json), merges them, and writes into dir, which must not exist or be
// empty, the merged summary (SummaryFile) and a copy of each merged
// finding's reproducer, renamed finding-001.txt, finding-002.txt, … in
// signature order, so that reproducers of different shards, each numbered
// from 1, cannot collide; the merged summary names the copies. A
// reproducer is looked for where its summary says, then beside the summary
// (the shard's -out directory, downloaded elsewhere). dir is written
// whole or not at all.
func MergeFiles(dir string, summaries []string) (*Result, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty", dir)
	} else if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	var rs []*Result
	for _, path := range summaries {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: not a stress summary: %v", path, err)
		}
		if len(r.Shards) == 0 {
			return nil, fmt.Errorf("%s: not a stress summary of this mmrace: no shards", path)
		}
		for i, f := range r.Findings {
			if f.Reproducer == "" {
				continue
			}
			found, err := locate(f.Reproducer, filepath.Dir(path))
			if err != nil {
				return nil, fmt.Errorf("%s: finding %q: %v", path, f.Signature, err)
			}
			r.Findings[i].Reproducer = found
		}
		rs = append(rs, &r)
	}
	m, err := Merge(rs...)
	if err != nil {
		return nil, err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".merge-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // after a successful rename, there is nothing left
	for i := range m.Findings {
		f := &m.Findings[i]
		if f.Reproducer == "" {
			continue
		}
		name := fmt.Sprintf("finding-%03d.txt", i+1)
		b, err := os.ReadFile(f.Reproducer)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return nil, err
		}
		f.Reproducer = filepath.Join(dir, name)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, SummaryFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	// rename(2) replaces an empty directory, and creates a missing one.
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return m, nil
}

// locate finds a reproducer recorded as path by a summary in dir.
func locate(path, dir string) (string, error) {
	candidates := []string{path, filepath.Join(dir, filepath.Base(path))}
	if !filepath.IsAbs(path) {
		candidates = append(candidates, filepath.Join(dir, path))
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
			return c, nil
		}
	}
	return "", fmt.Errorf("reproducer %s not found (nor beside the summary)", path)
}
