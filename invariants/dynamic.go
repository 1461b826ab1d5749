package invariants

import (
	"fmt"
	"sort"
	"strings"

	"mmrace/kernelsim"
	"mmrace/kernelsim/invnames"
	"mmrace/kernelsim/sched"
)

// Install sets k's hooks to the dynamic checkers below.
func Install(k *kernelsim.Kernel) {
	k.Hooks.WalkDone = func(t *sched.Task, w *kernelsim.Walk) {
		if v := RmapWalkCoverage(k, w); v != nil {
			t.Fail(*v)
		}
	}
	k.Hooks.MigrationDone = func(t *sched.Task, src *kernelsim.Folio) {
		if v := NoStragglingMigrationEntry(k, src); v != nil {
			t.Fail(*v)
		}
	}
}

// RmapWalkCoverage is "every PTE is found by rmap walks" (I1, dynamically):
// every mapping the walk is for (a present PTE of the folio for
// try_to_migrate, a migration entry for remove_migration_ptes), identified
// across moves, that exists from the walk's start to its end unchanged in
// kind, must have been examined by the walk, in its source or its
// destination VMA. A walk that peeks without the PTL (NonSync:
// try_to_migrate, folio_referenced) is held only to the mappings that
// nobody wrote during the walk: its lockless peek may find an entry none
// while a PTL holder has it cleared (ptep_modify_prot_start, or move_ptes
// between get_and_clear and set at the destination), and the kernel
// accepts that miss (try_to_migrate's caller sees the folio still mapped
// and aborts the migration). SYNC walks (remove_migration_ptes) must find
// every mapping, moved ones included. Mappings inside a VMA the walk skips
// by design (Walk.Skipped) or in which its caller tolerates a miss
// (Walk.MayMiss) are not held to it.
func RmapWalkCoverage(k *kernelsim.Kernel, w *kernelsim.Walk) *sched.Violation {
	if w.Aborted || w.Target == nil {
		return nil
	}
	now := map[uint64]kernelsim.Mapping{}
	for _, m := range k.Mappings(w.Target) {
		now[m.ID] = m
	}
	skipped := func(mm *kernelsim.MM, addr int) bool {
		for _, vs := range [][]*kernelsim.VMA{w.Skipped, w.MayMiss} {
			for _, v := range vs {
				if v.MM() == mm && v.Start() <= addr && addr < v.End() {
					return true
				}
			}
		}
		return false
	}
	var missed []string
	for _, s := range w.Start {
		e, still := now[s.ID]
		if !still || w.Visited[s.ID] || skipped(s.MM, s.Addr) || skipped(e.MM, e.Addr) {
			continue
		}
		if w.NonSync && k.WrittenSince(s.ID, w.StartStep) {
			continue // a lockless peek may miss an entry that is being changed or moved
		}
		where := fmt.Sprintf("%s %#x", e.MM.Name(), e.Addr)
		if e.MM != s.MM || e.Addr != s.Addr {
			where = fmt.Sprintf("%s %#x (moved from %s %#x during the walk)", e.MM.Name(), e.Addr, s.MM.Name(), s.Addr)
		}
		missed = append(missed, fmt.Sprintf("%s at %s", e.Entry, where))
	}
	if len(missed) == 0 {
		return nil
	}
	sort.Strings(missed)
	v := violation(invnames.RmapWalkCoverage, "%s of %s missed %s; it visited %s", w.Kind, w.Folio.Name(), strings.Join(missed, ", "), visitList(w.VMAs))
	return &v
}

func visitList(vs []kernelsim.VMAText) string {
	if len(vs) == 0 {
		return "no VMA"
	}
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = v.String()
	}
	return strings.Join(ss, ", then ")
}

// NoStragglingMigrationEntry is I2: when the migration of src ends, no
// migration entry for src remains anywhere.
func NoStragglingMigrationEntry(k *kernelsim.Kernel, src *kernelsim.Folio) *sched.Violation {
	left := k.Mappings(func(p *kernelsim.PTE) bool { return p.Kind == kernelsim.PTEMigration && p.PageFolio() == src })
	if len(left) == 0 {
		return nil
	}
	var at []string
	for _, m := range left {
		at = append(at, fmt.Sprintf("%s %#x", m.MM.Name(), m.Addr))
	}
	v := violation(invnames.NoStragglingMigrationEntry, "migration of %s ends with its migration entry left at %s: a fault there waits on a folio nobody will unlock", src.Name(), strings.Join(at, ", "))
	return &v
}
