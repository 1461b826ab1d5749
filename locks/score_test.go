package locks

import "testing"

func TestScoreRate(t *testing.T) {
	var ty Tally
	for _, r := range []Result{
		{Verdict: Killed},
		{Verdict: Killed},
		{Verdict: NoConsequence},                                    // open gap
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
