package main

import (
	"flag"
	"fmt"

	"mmrace/internal/locksites"
	"mmrace/kernelsim/ksync"
	"mmrace/locks"
)

// mutantFlag is -mutant SITE@KIND: one lock-necessity mutant of mmrace
// locks, applied to the concurrent phase of the runs (replay and run), so
// that the commands mmrace locks prints reproduce its counterexamples.
type mutantFlag struct{ id string }

func newMutantFlag(fs *flag.FlagSet) *mutantFlag {
	f := &mutantFlag{}
	fs.StringVar(&f.id, "mutant", "", "apply the lock mutant `SITE@KIND` (as mmrace locks prints it: remove, ignore-trylock-failure or release-early at a lock site, remove or flush-after-unlock at a flush site) to the concurrent phase")
	return f
}

// mutant returns the mutant, nil when -mutant is not given. An unknown
// site or kind is a usage error; not finding the model's source is not.
func (f *mutantFlag) mutant() (*ksync.Mutant, error) {
	if f.id == "" {
		return nil, nil
	}
	ss, err := locksites.Find()
	if err != nil {
		return nil, fmt.Errorf("-mutant: %v", err)
	}
	site, kind, err := locks.ParseID(ss, f.id)
	if err != nil {
		return nil, fmt.Errorf("%w: -mutant: %v", errUsage, err)
	}
	return ss.Mutant(site, kind), nil
}

// arg is the flag as the printed commands repeat it.
func (f *mutantFlag) arg() string {
	if f.id == "" {
		return ""
	}
	return " -mutant '" + f.id + "'"
}
