package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// mmgetNotZero is mmget_not_zero(): take an mm_users reference unless the
// mm is already on its way out.
func (m *MM) mmgetNotZero() bool { return atomicIncNotZero(&m.users) }

// mmput is mmput(): drop an mm_users reference; the last one tears the
// address space down (__mmput → exit_mmap) in the task that drops it.
func (k *Kernel) mmput(t *sched.Task, m *MM) {
	if n := m.users.Add(-1); n == 0 {
		k.exitMMap(t, m)
	} else if n < 0 {
		t.Internal("mmput: %s mm_users went negative", m.name)
	}
}

// Exit is the exit of the process owning m (do_exit → exit_mm → mmput):
// it drops the process's own mm_users reference. exit_mmap runs when the
// last reference goes, which may be at the end of another task's op on m
// (a remote user such as move_pages holds one), never under an op that is
// still using the mm.
func (k *Kernel) Exit(t *sched.Task, m *MM) error {
	if !m.exiting.CompareAndSwap(false, true) {
		return fmt.Errorf("exit: ESRCH: %s has already exited", m.name)
	}
	k.mmput(t, m)
	return nil
}

// ExitProcess drops the process reference of m unless the program already
// exited it: what the end of a program does to every mm still alive.
func (k *Kernel) ExitProcess(t *sched.Task, m *MM) {
	if m.exiting.CompareAndSwap(false, true) {
		k.mmput(t, m)
	}
}

// exitMMap mirrors mm/mmap.c exit_mmap() (v6.12+): unmap_vmas under
// mmap_read_lock, then mmap_write_lock for free_pgtables (which
// write-locks each VMA and unlinks it from the rmap trees: until then rmap
// walkers of other mms sharing its anon_vmas or files still find it), then
// every VMA detached and freed, and the tree destroyed.
func (k *Kernel) exitMMap(t *sched.Task, m *MM) {
	const site = "exit_mmap"
	m.lock.ReadLock(t, site)
	vs := m.VMAs()
	k.tlbGatherMMU(t, m) // tlb_gather_mmu_fullmm
	for _, v := range vs {
		k.zapPTERange(t, v, v.start, v.end, "unmap_vmas", zapDetails{unmap: true})
	}
	m.lock.ReadUnlock(t, site)
	m.lock.WriteLock(t, site)
	for _, v := range vs {
		v.lock.StartWrite(t, "free_pgtables") // mm_wr_locked
	}
	k.freePgtables(t, m, vs, 0, k.Geo.Pages(), "free_pgtables")
	// free_pgtables frees what lies in the VMAs' span; exit frees the rest.
	k.freePgdRange(t, m, 0, k.Geo.Pages(), 0, k.Geo.Pages(), site)
	k.tlbFinishMMU(t, "tlb_finish_mmu")
	for _, v := range vs {
		v.lock.MarkDetached(t, site)
		k.removeVMA(t, v, "remove_vma")
	}
	m.vmaIterClear(t, vs, "__mt_destroy")
	m.mapCount = 0
	m.exited = true
	m.lock.WriteUnlock(t, site)
}

// Exited reports whether exit_mmap ran.
func (m *MM) Exited() bool { return m.exited }
