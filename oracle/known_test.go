package oracle

// known is a difference between the model and the kernel that is
// understood and not fixed yet: a model bug. Deliberate limits are not
// here; LIMITS.md lists them and the comparison accounts for them.
type known struct {
	Kind    string // the Difference.Kind it shows as
	Example string // a program (under testdata) that shows it, the smallest found
	Why     string // the kernel behaviour the model lacks, with its function
	Since   string // the first kernel release with that behaviour, when recent ("6.17")
}

// knownDifferences are the open model bugs the oracle found. Whoever fixes
// one in the model deletes its entry: TestKnownDifferences then fails until
// the entry is gone, and from then on every test requires agreement.
var knownDifferences = []known{}

// knownKind returns the known difference of kind, or nil.
func knownKind(kind string) *known {
	for i := range knownDifferences {
		if knownDifferences[i].Kind == kind {
			return &knownDifferences[i]
		}
	}
	return nil
}
