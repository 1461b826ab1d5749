package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Mapping is one page-table entry found by a scan: its identity, where it
// is, and its value.
type Mapping struct {
	ID    uint64
	MM    *MM
	Addr  int
	Entry *PTE
}

// Walk records one rmap walk for the dynamic checkers: what it looked for,
// what existed when it began, and what it visited.
type Walk struct {
	Kind      string          // try_to_migrate, remove_migration_ptes, folio_referenced
	Folio     *Folio          // the folio whose rmap is walked
	Target    func(*PTE) bool // the entries the walk is for
	Start     []Mapping       // target entries when the walk began
	Visited   map[uint64]bool // identities the walk examined under the PTL
	VMAs      []VMAText       // the VMAs visited, in order, for reports
	Skipped   []*VMA          // VMAs the walk skips by design (rwc->invalid_vma)
	MayMiss   []*VMA          // VMAs visited where the caller tolerates a miss
	StartStep int
	Aborted   bool // gave up (trylock contention): no coverage promise
	// NonSync says the walk peeks at entries without the PTL: it may miss
	// an entry that a PTL holder cleared transiently during the walk.
	NonSync bool
}

// visit records that the walk examined identity id under the PTL.
func (w *Walk) visit(id uint64) {
	if w.Visited == nil {
		w.Visited = map[uint64]bool{}
	}
	w.Visited[id] = true
}

// VMAText is a VMA as it was when a walk visited it; String prints it as
// VMA.Describe did then.
type VMAText struct {
	name              string
	start, end, pgoff int
}

func (v VMAText) String() string {
	return fmt.Sprintf("%s [%#x,%#x) pgoff %#x", v.name, v.start, v.end, v.pgoff)
}

// Hooks are called by the model at the points where dynamic invariants are
// checked. Each may end the run through t.Fail.
type Hooks struct {
	WalkDone      func(t *sched.Task, w *Walk)
	MigrationDone func(t *sched.Task, src *Folio)
	// Checked, when not nil, is told each time the model evaluates one of
	// its inline invariants (move-fidelity, zap-postcondition, ...), by
	// name: mmrace check counts which invariants looked at the state a
	// variant changed.
	Checked func(invariant string)
}

// checked tells Hooks.Checked that invariant inv was evaluated.
func (k *Kernel) checked(inv string) {
	if k.Hooks.Checked != nil {
		k.Hooks.Checked(inv)
	}
}

// Mappings scans every live mm for entries satisfying pred, in mm and
// address order.
func (k *Kernel) Mappings(pred func(*PTE) bool) []Mapping {
	var out []Mapping
	for _, m := range k.MMs() {
		m.ForEachPTE(func(addr int, _ *PTETable, p *PTE) {
			if pred(p) {
				out = append(out, Mapping{ID: p.ID, MM: m, Addr: addr, Entry: p})
			}
		})
	}
	return out
}
