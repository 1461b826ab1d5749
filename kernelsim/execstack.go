package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// ExecStack models exec's stack set-up for a new mm named name (reference
// C.7): __bprm_mm_init creates a temporary stack VMA [start, start+n) marked
// VM_STACK_INCOMPLETE_SETUP, copy_strings faults the argument pages in and
// writes them, then setup_arg_pages → relocate_vma_down moves the stack down
// by shift pages and clears the marker.
func (k *Kernel) ExecStack(t *sched.Task, name string, start, n, shift int) error {
	if k.MM(name) != nil {
		return fmt.Errorf("exec: %s already exists", name)
	}
	if n <= 0 || shift < 0 || start-shift < 0 || start+n > k.Geo.Pages() {
		return fmt.Errorf("exec: EINVAL: stack %#x+%d shifted down by %d leaves the address space", start, n, shift)
	}
	m := k.allocMM(name)
	k.publishMM(m) // the new mm's folios are reachable by rmap from here on
	// __bprm_mm_init: the temporary stack VMA.
	m.lock.WriteLock(t, "__bprm_mm_init")
	v := k.newVMA(t, m, start, start+n, start, VMRead|VMWrite|VMStackIncompleteSetup, nil)
	v.lock.StartWrite(t, "__bprm_mm_init")
	v.lock.MarkAttached(t, "__bprm_mm_init")
	m.vmaIterStore(t, v, "__bprm_mm_init")
	m.mapCount++
	m.lock.WriteUnlock(t, "__bprm_mm_init")
	k.logMem(t, MemEvent{Kind: MemZero, MM: m.name, Addr: start, Len: n})
	// copy_strings → get_arg_page: get_user_pages_remote under
	// mmap_read_lock of the new mm faults each argument page in for write;
	// the strings are copied into the pages.
	m.lock.ReadLock(t, "get_arg_page")
	for a := start; a < start+n; a++ {
		if err := k.gupWrite(t, v, a, uint64(0xa0+a-start)); err != nil {
			m.lock.ReadUnlock(t, "get_arg_page")
			return err
		}
	}
	m.lock.ReadUnlock(t, "get_arg_page")
	// setup_arg_pages.
	m.lock.WriteLock(t, "setup_arg_pages")
	if shift > 0 {
		// Its vma_expand write-locks the VMA for this epoch, which makes
		// vm_flags_clear's vma_start_write below a no-op; with no shift,
		// vm_flags_clear takes it. (mprotect_fixup before it changes no
		// flags here, and returns before locking.)
		k.relocateVMADown(t, v, shift)
	}
	v.lock.StartWrite(t, "setup_arg_pages")
	t.Point(sched.KindWrite, v.name, "setup_arg_pages", "clear VM_STACK_INCOMPLETE_SETUP")
	v.setFlags(v.Flags() &^ VMStackIncompleteSetup)
	m.lock.WriteUnlock(t, "setup_arg_pages")
	// load_elf_binary goes on after setup_arg_pages (the ELF segments'
	// mappings and set_brk, not modelled), then create_elf_tables (v6.5+):
	// "Grow the stack manually", mmap_write_lock, find_extend_vma_locked
	// of bprm->p (inside the stack: nothing to extend), mmap_write_unlock;
	// then put_user of argc, argv and envp (not modelled: the model's
	// stack holds the strings only). Exec is at work until then, so a
	// task that looked the stack VMA's object up in its former life
	// (SLAB_TYPESAFE_BY_RCU) may try its lock meanwhile.
	m.lock.WriteLock(t, "create_elf_tables")
	t.PointF(sched.KindRead, "find_extend_vma_locked", sched.Objf("%s maple tree").S(m.name).Detailf("find_vma %#x").N(v.start))
	if m.findVMA(v.start) != v {
		t.Internal("create_elf_tables: %s %#x is not in the stack VMA %s", m.name, v.start, v.Describe())
	}
	m.lock.WriteUnlock(t, "create_elf_tables")
	// exec_mmap: the new mm becomes the process's; its reference (taken
	// by mm_alloc for the bprm) is now the process's own.
	m.running.Store(true)
	return nil
}

// relocateVMADown mirrors mm/vma_exec.c relocate_vma_down(): expand the VMA
// down keeping vm_pgoff (from here rmap computes the new addresses while the
// PTEs are still at the old ones), move the page tables without rmap locks
// at PTE level (need_rmap_locks = false: migration skips temporary stacks),
// free the vacated tables, shrink the VMA.
func (k *Kernel) relocateVMADown(t *sched.Task, v *VMA, shift int) {
	const site = "relocate_vma_down"
	m := v.mm
	oldStart, oldEnd := v.start, v.end
	length := oldEnd - oldStart
	newStart, newEnd := oldStart-shift, oldEnd-shift
	if len(m.overlapping(newStart, oldStart)) > 0 && !k.Variants.Has("test-relocate_vma_down-ignores-overlap") {
		return // -EFAULT: something is mapped below the stack
	}
	v.lock.StartWrite(t, site)
	vp := &vmaPrepare{vmas: []*VMA{v}, av: v.AnonVMA()}
	k.vmaPrepare(t, vp, "vma_expand")
	k.setBounds(t, v, newStart, oldEnd, v.pgoff, "vma_expand")
	k.vmaComplete(t, vp, "vma_expand")
	m.vmaIterStore(t, v, "vma_expand")
	pmc := &pagetableMove{old: v, new: v, oldAddr: oldStart, newAddr: newStart, len: length, forStack: true, site: "move_page_tables"}
	k.movePageTables(t, pmc)
	// Free the page tables of the vacated tail [max(newEnd, oldStart), oldEnd).
	_, ceiling := m.gap(oldStart, oldEnd)
	k.freePgdRange(t, m, max(newEnd, oldStart), oldEnd, newEnd, ceiling, site)
	vp = &vmaPrepare{vmas: []*VMA{v}, av: v.AnonVMA()}
	k.vmaPrepare(t, vp, "vma_shrink")
	k.setBounds(t, v, newStart, newEnd, v.pgoff, "vma_shrink")
	k.vmaComplete(t, vp, "vma_shrink")
	m.vmaIterStore(t, v, "vma_shrink")
}

// gupWrite is get_user_pages_remote(FOLL_WRITE) of one page of v followed
// by a write through the kernel mapping of the page: fault until the PTE is
// present and writable, then store val. The caller holds mmap_lock.
func (k *Kernel) gupWrite(t *sched.Task, v *VMA, addr int, val uint64) error {
	m := v.mm
	for try := 0; try < maxFaultRetries; try++ {
		t.PointF(sched.KindRead, "follow_page_pte", sched.Objf("pte %s %#x").S(m.name).N(addr))
		if p := m.Walk(addr); p != nil && p.Kind == PTEPresent && p.Write && p.Folio != nil {
			p.Folio.page(p.Page).Store(val)
			k.logMem(t, MemEvent{Kind: MemStore, MM: m.name, Addr: addr, Value: val, OK: true})
			return nil
		}
		// get_arg_page calls get_user_pages_remote without a "locked"
		// pointer: no FAULT_FLAG_ALLOW_RETRY, so the fault may not drop
		// mmap_lock (it sleeps on a contended folio lock holding it): the
		// model's faultTried. Without it a swap-in that found the folio
		// locked dropped the caller's mmap_lock (stress: an internal
		// error, get_arg_page's unlock of a lock it no longer held).
		switch k.handleMMFault(t, v, addr, faultWrite|faultTried) {
		case FaultSEGV:
			return fmt.Errorf("exec: get_arg_page faulted at %#x", addr)
		case FaultRetry:
			t.Internal("get_arg_page: VM_FAULT_RETRY for a fault that may not retry at %s %#x", m.name, addr)
		}
	}
	return fmt.Errorf("exec: get_arg_page made no progress at %#x", addr)
}
