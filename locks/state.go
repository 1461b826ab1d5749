package locks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"mmrace/internal/atomicfile"
)

// StateFile is the name of the state file in the output directory.
const StateFile = "locks-state.json"

// state is the resumable progress of mmrace locks: every finished mutant,
// keyed by its ID, with the parameters its result holds for. Results of
// mutants outside the current selection are kept.
type state struct {
	path    string
	Version int               `json:"version"`
	Results map[string]Result `json:"results"`
}

const stateVersion = 1

// openState reads dir's state file, or starts an empty one (nothing is
// written until the first result).
func openState(dir string) (*state, error) {
	st := &state{path: filepath.Join(dir, StateFile), Version: stateVersion, Results: map[string]Result{}}
	b, err := os.ReadFile(st.path)
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil || st.Version != stateVersion {
		return nil, fmt.Errorf("%w: %s is not a state file of this mmrace (%v): remove it or use another -out", ErrBadState, st.path, err)
	}
	if st.Results == nil {
		st.Results = map[string]Result{}
	}
	return st, nil
}

// ErrBadState marks a state file that cannot be read.
var ErrBadState = fmt.Errorf("bad state file")

// save writes the state file atomically.
func (st *state) save() error {
	if err := os.MkdirAll(filepath.Dir(st.path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(st.path, append(b, '\n'))
}
