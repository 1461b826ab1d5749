package main

import (
	"encoding/json"
	"fmt"

	"mmrace/stress"
)

var mergeCommand = command{
	name:  "merge",
	args:  "SUMMARY.json...",
	short: "combine the summaries and reproducers of stress shards",
	long: `Merge combines the JSON summaries of the shards of one stress run
(mmrace stress -shard i/N -json) into one summary, DIR/summary.json, with
the reproducers copied and renamed into DIR so that shards cannot collide.
It refuses summaries of different runs and the same shard twice, and writes
nothing unless it completes. Shards run with -reach give the reach matrix of
the whole run, printed as stress prints it. The exit status is stress's on the merged
result: 0 clean, 1 findings, 3 internal errors.`,
	run: mergeCmd,
}

// mergeCmd is `mmrace merge -out DIR SUMMARY.json...` (stress.MergeFiles).
func mergeCmd(e *env, args []string) (int, error) {
	fs := e.fs
	out := e.stdout
	dir := fs.String("out", "", "`directory` for the merged summary and reproducers (must not exist, or be empty)")
	asJSON := fs.Bool("json", false, "print the merged summary as JSON")
	files, err := e.parse(args)
	if err != nil {
		return exitUsage, err
	}
	if *dir == "" || len(files) == 0 {
		return exitUsage, fmt.Errorf("%w: merge: want -out DIR and one or more stress summaries (mmrace stress -json)", errUsage)
	}
	res, err := stress.MergeFiles(*dir, files)
	if err != nil {
		return exitUsage, fmt.Errorf("%w: merge: %v", errUsage, err)
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		whole := "complete"
		if !res.Complete() {
			whole = "incomplete"
		}
		fmt.Fprintf(out, "merged shards %v (%s) of stress (%s mode, %s, rules %v, seed %d) into %s\n", res.Shards, whole, res.Mode, res.Variants, res.Rules, res.Seed, *dir)
		fmt.Fprintf(out, "%d executions in %.0fs (%.0f/s), %d failures, %d distinct, %d internal errors\n", res.Executions, res.Seconds, res.PerSecond, res.Failures, len(res.Findings), res.InternalErrors)
		for _, f := range res.Findings {
			fmt.Fprintf(out, "  %5d × %s\n        %s\n", f.Count, f.Signature, f.Reproducer)
		}
		if res.Reach != nil {
			// The shards' reach matrices summed (stress -reach): the
			// matrix of the whole run, as stress prints it.
			fmt.Fprintln(out)
			res.Reach.Write(out)
		}
	}
	switch {
	case res.InternalErrors > 0:
		return exitInternal, nil
	case len(res.Findings) > 0:
		return exitFinding, nil
	}
	return exitClean, nil
}
