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
	end := start + n
	if n <= 0 || start < 0 || end > k.Geo.Pages() {
		return fmt.Errorf("madvise: EINVAL: range outside the address space")
	}
	if v := k.lockVMAUnderRCU(t, m, start); v != nil {
		if end <= v.end {
			t.SetWatch(func() { k.useVMA(t, v, "zap_page_range_single") })
			k.zapPTERange(t, v, start, end, "zap_page_range_single", true)
			t.SetWatch(nil)
			v.lock.EndRead(t, "madvise_unlock")
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
	for _, v := range m.overlapping(start, end) {
		t.SetWatch(func() { k.useVMA(t, v, "zap_page_range_single") })
		k.zapPTERange(t, v, max(start, v.start), min(end, v.end), "zap_page_range_single", true)
		t.SetWatch(nil)
	}
	m.lock.ReadUnlock(t, "madvise_unlock")
	if covered < end {
		return fmt.Errorf("madvise: ENOMEM: [%#x,%#x) is not fully mapped", start, end)
	}
	return nil
}
