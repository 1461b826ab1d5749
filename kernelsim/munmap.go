package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Munmap mirrors __vm_munmap() → do_vmi_munmap() → do_vmi_align_munmap()
// with unlock allowed: mmap_lock W, downgraded to R before the zap.
func (k *Kernel) Munmap(t *sched.Task, m *MM, start, n int) error {
	if n <= 0 || start < 0 || start+n > k.Geo.Pages() {
		return fmt.Errorf("munmap: range %#x+%d outside the address space", start, n)
	}
	m.lock.WriteLock(t, "__vm_munmap")
	if err := k.hugetlbRangeCheck(m, start, start+n, false, "munmap"); err != nil {
		m.lock.WriteUnlock(t, "__vm_munmap")
		return err
	}
	if len(m.overlapping(start, start+n)) == 0 {
		m.lock.WriteUnlock(t, "__vm_munmap")
		return nil
	}
	// No memory event: an unmapped page is never readable again (loads
	// fault), and a later mapping logs its own fresh memory. Until the zap, a
	// concurrent load may still read the old page through its PTE.
	k.doVMIAlignMunmap(t, m, start, start+n, true)
	m.lock.ReadUnlock(t, "__vm_munmap")
	return nil
}

// doVMIAlignMunmap mirrors do_vmi_align_munmap() (reference C.4). With
// downgrade set it returns holding mmap_lock for read, else for write.
func (k *Kernel) doVMIAlignMunmap(t *sched.Task, m *MM, start, end int, downgrade bool) {
	since := k.stamp(t) // for tlb-coherence: the translations cached before the unmap
	// vms_gather_munmap_vmas: split the boundary VMAs, write-lock and detach
	// every VMA in the range.
	if vs := m.overlapping(start, end); len(vs) > 0 {
		if first := vs[0]; first.start < start {
			k.splitVMA(t, first, start, true) // the new VMA keeps [vm_start, start)
		}
	}
	if vs := m.overlapping(start, end); len(vs) > 0 {
		if last := vs[len(vs)-1]; last.end > end {
			k.splitVMA(t, last, end, false)
			// The original now ends at end; the new VMA covers [end, ...).
		}
	}
	vs := m.overlapping(start, end)
	for _, v := range vs {
		v.lock.StartWrite(t, "vms_gather_munmap_vmas")
		v.lock.MarkDetached(t, "vms_gather_munmap_vmas")
	}
	floor, ceiling := m.gap(start, end)
	// vma_iter_clear_gfp: out of the maple tree, still in the rmap trees.
	m.vmaIterClear(t, vs, "vms_gather_munmap_vmas")
	m.mapCount -= len(vs)
	// vms_complete_munmap_vmas.
	if downgrade {
		m.lock.WriteDowngrade(t, "vms_complete_munmap_vmas")
	}
	// vms_clear_ptes: tlb_gather_mmu, unmap_vmas, free_pgtables,
	// tlb_finish_mmu (the flush, then the pages freed). Between the zap and
	// free_pgtables the VMAs are still in the rmap trees with empty page
	// tables (the zap → free_pgtables window).
	k.tlbGatherMMU(t, m)
	for _, v := range vs {
		k.zapPTERange(t, v, v.start, v.end, "unmap_vmas", zapDetails{unmap: true})
	}
	k.freePgtables(t, m, vs, floor, ceiling, "free_pgtables")
	k.tlbFinishMMU(t, "tlb_finish_mmu")
	for _, v := range vs {
		k.removeVMA(t, v, "remove_vma")
	}
	k.checkTLBCoherence(t, m, start, end, since, promiseAll, tlbOp{verb: "munmap", mm: m.name, start: start, end: end})
	// I14: once the VMAs and their tables are gone, nothing maps the range.
	k.checked("zap-postcondition")
	for a := start; a < end; a++ {
		if p := m.Walk(a); p != nil {
			t.Fail(sched.Violation{Invariant: "zap-postcondition", Detail: fmt.Sprintf("munmap of %s [%#x,%#x) leaves %s at %#x", m.name, start, end, p, a)})
		}
	}
}

// gap returns the free range around [start, end) once the VMAs inside it are
// gone: from the end of the previous VMA to the start of the next
// (free_pgtables' floor and ceiling).
func (m *MM) gap(start, end int) (floor, ceiling int) {
	floor, ceiling = 0, m.k.Geo.Pages()
	for _, s := range *m.tree.Load() {
		if s.end <= start && s.end > floor {
			floor = s.end
		}
		if s.start >= end && s.start < ceiling {
			ceiling = s.start
		}
	}
	return floor, ceiling
}
