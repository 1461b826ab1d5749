package locks

import (
	"testing"

	"mmrace/internal/locksites"
	"mmrace/kernelsim/ksync"
)

func TestScoreRate(t *testing.T) {
	var ty Tally
	for _, r := range []Result{
		{Verdict: Killed},
		{Verdict: Killed},
		{Verdict: NoConsequence}, // open gap
		{Verdict: NoConsequence, Argument: "Kernel argument: none."}, // equivalent: left out
		{Verdict: NoConsequence, Argument: "Model argument. Open gap: THP."},
		{Verdict: NotExercised},
	} {
		ty.add(r)
	}
	if got, want := ty.Rate(), "2/5 = 40%"; got != want {
		t.Errorf("Rate = %q, want %q", got, want)
	}
	if got, want := ty.ScoreRate(), "2/4 = 50%"; got != want {
		t.Errorf("ScoreRate = %q, want %q", got, want)
	}
	if ty.ArguedGaps != 1 || ty.Argued != 2 || ty.OpenGaps != 1 {
		t.Errorf("tally %+v", ty)
	}
	if (Tally{}).ScoreRate() != "-" {
		t.Errorf("empty tally")
	}
}

func TestArgumentStarKey(t *testing.T) {
	as, err := parseArguments("[* hugetlb_fault hugetlb_fault_mutex]\nText.\n")
	if err != nil {
		t.Fatal(err)
	}
	hit := &locksites.Site{Key: "Fault:hugetlb_fault_mutex#1", Kernel: "hugetlb_fault", Class: "hugetlb_fault_mutex"}
	other := &locksites.Site{Key: "Fault:ptl#1", Kernel: "hugetlb_fault", Class: "ptl"}
	if as.For(hit, ksync.MutantRemove) != "Text." || as.For(other, ksync.MutantRemove) != "" {
		t.Errorf("For: %q %q", as.For(hit, ksync.MutantRemove), as.For(other, ksync.MutantRemove))
	}
	if errs := as.Check(&locksites.Sites{List: []*locksites.Site{other}}); len(errs) != 1 {
		t.Errorf("Check of a star key with no site: %v", errs)
	}
}
