package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// MadviseDontneed mirrors madvise(MADV_DONTNEED) (mm/madvise.c v6.16+,
// reference C.11, without page-table reclaim): madvise_lock() first tries
// the per-VMA lock (try_vma_read_lock: lock_vma_under_rcu at start, kept
// only when the range ends inside that VMA), and otherwise falls back to
// mmap_lock for read and walks every VMA in the range
// (madvise_walk_vmas). The zap leaves the VMAs in the rmap trees; the
// pages refault fresh. A hole in the range gives ENOMEM after the VMAs
// that exist were zapped.
func (k *Kernel) MadviseDontneed(t *sched.Task, m *MM, start, n int) error {
	since := k.stamp(t) // for tlb-coherence: the translations cached before this call
	end := start + n
	if n <= 0 || start < 0 || end > k.Geo.Pages() {
		return fmt.Errorf("madvise: EINVAL: range outside the address space")
	}
	if v := k.lockVMAUnderRCU(t, m, start); v != nil {
		if end <= v.end {
			t.SetWatch(func() { k.useVMA(t, v, "zap_page_range_single") })
			ok := k.zapSingle(t, v, start, end)
			t.SetWatch(nil)
			v.lock.EndRead(t, "madvise_unlock")
			if !ok {
				return fmt.Errorf("madvise: EINVAL: %#x is not huge-page aligned in hugetlb VMA", start)
			}
			k.checkTLBCoherence(t, m, start, end, since, promiseAll, tlbOp{verb: "madvise(MADV_DONTNEED)", mm: m.name, start: start, end: end})
			return nil
		}
		v.lock.EndRead(t, "try_vma_read_lock")
	}
	m.lock.ReadLock(t, "madvise_lock")
	covered := start
	for _, v := range m.overlapping(start, end) {
		if v.start > covered {
			break
		}
		covered = v.end
	}
	// The promise of tlb-coherence covers what this call zapped: the parts
	// of the range that had a VMA (a hole is someone else's munmap,
	// perhaps still zapping under its downgraded mmap_lock).
	var zapped [][2]int
	var inval error
	for _, v := range m.overlapping(start, end) {
		zs, ze := max(start, v.start), min(end, v.end)
		t.SetWatch(func() { k.useVMA(t, v, "zap_page_range_single") })
		ok := k.zapSingle(t, v, zs, ze)
		t.SetWatch(nil)
		if !ok {
			inval = fmt.Errorf("madvise: EINVAL: %#x is not huge-page aligned in hugetlb VMA", zs)
			break
		}
		zapped = append(zapped, [2]int{zs, ze})
	}
	m.lock.ReadUnlock(t, "madvise_unlock")
	for _, z := range zapped {
		k.checkTLBCoherence(t, m, z[0], z[1], since, promiseAll, tlbOp{verb: "madvise(MADV_DONTNEED)", mm: m.name, start: start, end: end})
	}
	if inval != nil {
		return inval
	}
	if covered < end {
		return fmt.Errorf("madvise: ENOMEM: [%#x,%#x) is not fully mapped", start, end)
	}
	return nil
}

// zapSingle mirrors madvise_dontneed_single_vma() → zap_page_range_single(): a
// gather of its own around the zap of one VMA's part of the range. For a
// hugetlb VMA madvise_dontneed_free_valid_vma() first refuses a start
// inside a huge page (false: EINVAL) and rounds the end down to one.
func (k *Kernel) zapSingle(t *sched.Task, v *VMA, start, end int) bool {
	if v.isHugetlb() {
		if start%k.Geo.PTEs != 0 {
			return false
		}
		if end = end / k.Geo.PTEs * k.Geo.PTEs; end <= start {
			return true
		}
	}
	k.tlbGatherMMU(t, v.mm)
	k.zapPTERange(t, v, start, end, "zap_page_range_single", zapDetails{fresh: true, reclaimPT: true})
	k.tlbFinishMMU(t, "tlb_finish_mmu")
	return true
}
