package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Mprotect mirrors do_mprotect_pkey() → mprotect_fixup(): split the VMAs at
// the range's ends, change vm_flags and the PTEs (change_protection), then
// merge with neighbours that became identical. (Simplification: the kernel
// tries vma_merge_existing_range before splitting; the resulting layout is
// the same, the lock sequence around the merge differs.)
func (k *Kernel) Mprotect(t *sched.Task, m *MM, start, n int, prot Flags) error {
	const site = "mprotect_fixup"
	end := start + n
	if n <= 0 || start < 0 || end > k.Geo.Pages() {
		return fmt.Errorf("mprotect: range %#x+%d outside the address space", start, n)
	}
	m.lock.WriteLock(t, "do_mprotect_pkey")
	defer m.lock.WriteUnlock(t, "do_mprotect_pkey")
	vs := m.overlapping(start, end)
	covered := start
	for _, v := range vs {
		if v.start > covered {
			break
		}
		covered = v.end
	}
	if covered < end {
		return nil // ENOMEM: a hole in the range; nothing changed
	}
	if first := vs[0]; first.start < start {
		k.splitVMA(t, first, start, true)
	}
	vs = m.overlapping(start, end)
	if last := vs[len(vs)-1]; last.end > end {
		k.splitVMA(t, last, end, false)
	}
	vs = m.overlapping(start, end)
	for _, v := range vs {
		v.lock.StartWrite(t, site)
		nf := v.flags&^vmProtMask | prot&vmProtMask
		t.Point(sched.KindWrite, v.name, "vm_flags_reset", v.flags.String()+" -> "+nf.String())
		v.lock.AssertWriteLocked(t, "vm_flags_reset")
		if !k.Variants.Has("test-mprotect-skips-vm_flags") {
			v.flags = nf
		}
		k.changeProtection(t, v)
	}
	// vma_merge_existing_range with the neighbours.
	for _, v := range m.overlapping(start, end) {
		k.mergeWithNeighbours(t, v, site)
	}
	return nil
}

// changeProtection mirrors change_protection() → change_pte_range(): under
// each table's PTL, remove write (and read) permission the VMA lost. Write
// permission is never added here: the next write fault adds it.
func (k *Kernel) changeProtection(t *sched.Task, v *VMA) {
	const site = "change_pte_range"
	m := v.mm
	g := k.Geo
	for a := v.start; a < v.end; {
		tblEnd := g.tableEnd(a, v.end)
		tbl, _ := k.pteOffsetMapLock(t, m, a, site)
		if tbl == nil {
			a = tblEnd
			continue
		}
		for addr := a; addr < tblEnd; addr++ {
			i := g.pteIndex(addr)
			p := tbl.e[i].Load()
			if p == nil || p.Kind != PTEPresent {
				continue
			}
			np := *p
			np.Read = v.flags&(VMRead|VMWrite) != 0
			np.Write = p.Write && v.flags&VMWrite != 0
			if np != *p {
				k.setPTE(t, m, tbl, i, addr, &np, site)
			}
		}
		tbl.ptl.Unlock(t, site)
		a = tblEnd
	}
}

// mergeWithNeighbours merges v into an identical adjacent VMA (prev absorbs
// v, or v absorbs next).
func (k *Kernel) mergeWithNeighbours(t *sched.Task, v *VMA, site string) {
	if v.freed || !v.lock.IsAttached() {
		return
	}
	prev, next := v.mm.neighbours(v)
	if prev != nil && prev.end == v.start && mergeExisting(prev, v) {
		k.vmaExpandTo(t, prev, prev.start, v.end, v, nil, "vma_merge_existing_range")
		v = prev
	}
	if next != nil && v.end == next.start && mergeExisting(v, next) {
		k.vmaExpandTo(t, v, v.start, next.end, next, nil, "vma_merge_existing_range")
	}
}

// mergeExisting is is_mergeable_vma + is_mergeable_anon_vma for two adjacent
// existing VMAs a (below) and b.
func mergeExisting(a, b *VMA) bool {
	if a.flags != b.flags || a.file != b.file || a.pgoff+a.Pages() != b.pgoff || a.flags&VMStackIncompleteSetup != 0 {
		return false
	}
	if a.anonVMA == b.anonVMA {
		return true
	}
	if a.anonVMA == nil {
		return len(b.chain) <= 1
	}
	if b.anonVMA == nil {
		return len(a.chain) <= 1
	}
	return false
}

// ExitMMap mirrors exit_mmap(): unmap everything, free every page table and
// VMA. It is run on every mm when a program ends, so that the leak checks
// see what a dying process leaves behind.
func (k *Kernel) ExitMMap(t *sched.Task, m *MM) {
	const site = "exit_mmap"
	m.lock.WriteLock(t, site)
	vs := m.VMAs()
	for _, v := range vs {
		v.lock.StartWrite(t, site)
		v.lock.MarkDetached(t, site)
	}
	for _, v := range vs {
		k.zapPTERange(t, v, v.start, v.end, "unmap_vmas")
	}
	m.vmaIterClear(t, vs, site)
	m.mapCount = 0
	k.freePgtables(t, m, vs, 0, k.Geo.Pages(), "free_pgtables")
	// free_pgtables frees what lies in the VMAs' span; exit frees the rest.
	k.freePgdRange(t, m, 0, k.Geo.Pages(), 0, k.Geo.Pages(), site)
	for _, v := range vs {
		k.removeVMA(t, v, "remove_vma")
	}
	m.exited = true
	m.lock.WriteUnlock(t, site)
}

// Exited reports whether exit_mmap ran.
func (m *MM) Exited() bool { return m.exited }
