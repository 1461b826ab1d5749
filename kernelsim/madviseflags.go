package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// MadviseFlags mirrors madvise(MADV_RANDOM) (random set) and
// madvise(MADV_NORMAL) (mm/madvise.c v6.16): behaviours that change only
// vm_flags (VM_RAND_READ; the model has no VM_SEQ_READ), so madvise_lock
// takes mmap_lock for write (madvise_need_mmap_write). madvise_walk_vmas
// visits each VMA of the range in address order; madvise_vma_behavior →
// madvise_update_vma leaves a VMA whose flags do not change alone, else
// splits it at the range's ends (vma_modify_flags), write-locks it
// (vma_start_write) and sets the flags (vm_flags_reset); a hole makes the
// result ENOMEM after the rest of the range was done. Neither the page
// tables nor the TLB are touched: a split of a hugetlb VMA is the only
// thing it does to the mappings (hugetlb_split). (The same simplification
// as Mprotect's: the kernel tries vma_merge_existing_range before
// splitting; the layout is the same.)
func (k *Kernel) MadviseFlags(t *sched.Task, m *MM, start, n int, random bool) error {
	const site = "madvise_update_vma"
	end := start + n
	if n <= 0 || start < 0 || end > k.Geo.Pages() {
		return fmt.Errorf("madvise: EINVAL: range outside the address space")
	}
	m.lock.WriteLock(t, "madvise_lock")
	defer m.lock.WriteUnlock(t, "madvise_unlock")
	if err := k.hugetlbRangeCheck(m, start, end, false, "madvise"); err != nil {
		return err
	}
	var changed []*VMA
	var unmapped error
	for tmp := start; tmp < end; {
		t.Point(sched.KindRead, m.name+" maple tree", "madvise_walk_vmas", fmt.Sprintf("find_vma %#x", tmp))
		var v *VMA
		for _, o := range m.overlapping(tmp, end) {
			v = o
			break
		}
		if v == nil {
			unmapped = fmt.Errorf("madvise: ENOMEM: [%#x,%#x) is not fully mapped", start, end)
			break
		}
		if v.start > tmp {
			unmapped = fmt.Errorf("madvise: ENOMEM: [%#x,%#x) is not fully mapped", start, end)
			tmp = v.start
		}
		nend := min(v.end, end)
		k.useVMA(t, v, site)
		nf := v.Flags() &^ VMRandRead
		if random {
			nf |= VMRandRead
		}
		if nf != v.Flags() {
			k.vmaModifyFlags(t, v, tmp, nend)
			v.lock.StartWrite(t, site)
			t.Point(sched.KindWrite, v.name, "vm_flags_reset", v.Flags().String()+" -> "+nf.String())
			v.lock.AssertWriteLocked(t, "vm_flags_reset")
			v.setFlags(nf)
			changed = append(changed, v)
		}
		tmp = nend
	}
	for _, v := range changed {
		k.mergeWithNeighbours(t, v, end, site)
	}
	return unmapped
}
