package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Uprobes (kernel/events/uprobes.c, v6.15, the last version with
// __replace_page): a uprobe registered on a file offset (the program's
// "file NAME PAGES uprobe@PGOFF") is installed in every mapping of the
// file that may hold it as the mapping is made: uprobe_mmap() →
// install_breakpoint() → uprobe_write_opcode() → __replace_page(), which
// finds the old page with page_vma_mapped_walk outside any rmap walk,
// holding mmap_lock (for write, from mmap) and the old folio's lock: the
// second of the two callers of Peter Xu's 2022 case B. valid_vma() keeps
// it away from hugetlb VMAs (VM_HUGETLB), so page_vma_mapped_walk's
// hugetlb branch, which takes no lock before hugetlb_walk, never runs
// for it.
//
// The model installs breakpoints from mmap only (the kernel also calls
// uprobe_mmap for the VMA a split or copy_vma makes), and the opcode it
// writes is not modelled: the breakpoint page is a private copy with the
// old page's value, as a COW copy is.

// validVMA is valid_vma(vma, true): a private, read-only (VM_MAYEXEC in
// the kernel; the model has no exec permission) file mapping that is not
// hugetlb. Variant hugetlb_walk-without-lock lets hugetlb VMAs through:
// a page_vma_mapped_walk caller outside an rmap walk reaches them with
// neither the hugetlb VMA lock nor i_mmap_rwsem.
func (k *Kernel) validVMA(v *VMA) bool {
	if v.isHugetlb() && k.Variants.Enabled("hugetlb_walk-without-lock") {
		k.Variants.Hit("hugetlb_walk-without-lock")
		return true
	}
	return v.file != nil && v.Flags()&(VMShared|VMWrite|VMHugetlb) == 0
}

// uprobeMmap mirrors uprobe_mmap(vma): for each uprobe of the VMA's file
// whose offset the VMA maps, install_breakpoint. The caller holds
// mmap_lock for write.
func (k *Kernel) uprobeMmap(t *sched.Task, v *VMA) {
	if len(v.file.uprobes) == 0 || !k.validVMA(v) {
		return
	}
	for _, off := range v.file.uprobes {
		if addr, ok := v.Address(off); ok {
			k.uprobeWriteOpcode(t, v, addr)
		}
	}
}

// uprobeWriteOpcode mirrors uprobe_write_opcode(auprobe, vma, vaddr,
// UPROBE_SWBP_INSN) for a register: get_user_pages_remote (FOLL_FORCE)
// of the old page, faulting it in; nothing to do when the page is already
// the breakpoint copy (verify_opcode); anon_vma_prepare; a new anon page
// with the old page's contents; __replace_page.
func (k *Kernel) uprobeWriteOpcode(t *sched.Task, v *VMA, addr int) {
	const site = "uprobe_write_opcode"
	m := v.mm
	var old *Folio
	pg := 0
	for try := 0; old == nil; try++ {
		if try == maxFaultRetries {
			t.Fail(sched.Violation{Invariant: "livelock", Detail: fmt.Sprintf("%s at %s %#x faulted %d times without making progress", site, m.name, addr, maxFaultRetries)})
		}
		t.Point(sched.KindRead, fmt.Sprintf("pte %s %#x", m.name, addr), "follow_page_pte", "")
		if p := m.Walk(addr); p != nil && p.Kind == PTEPresent && p.Folio != nil && p.Folio.tryPin() {
			old, pg = p.Folio, p.Page
			break
		}
		// get_user_pages_remote with locked NULL: no FAULT_FLAG_ALLOW_RETRY,
		// the fault may not drop mmap_lock (the model's faultTried).
		if r := k.handleMMFault(t, v, addr, faultTried); r == FaultSEGV {
			return
		}
	}
	defer k.unpin(t, old, site)
	if old.anon {
		return // verify_opcode: the breakpoint is there already
	}
	if !v.isHugetlb() {
		// anon_vma_prepare (a hugetlb VMA, reached only under the
		// variant, is left without one: the walk below is the point).
		k.anonVMAPrepare(t, v)
	}
	nf := k.allocFolio(true)
	nf.data.Store(old.page(pg).Load()) // copy_highpage; the opcode is not modelled
	k.replacePage(t, v, addr, old, nf)
}

// replacePage mirrors __replace_page(vma, addr, old_page, new_page): lock
// the old folio, find its mapping at addr with page_vma_mapped_walk (not
// PVMW_SYNC, no rmap lock: mmap_lock and the folio lock are what the
// caller holds), then under the PTL clear and flush the PTE and map the
// new anon page read-only in its place, dropping the old page's mapping.
func (k *Kernel) replacePage(t *sched.Task, v *VMA, addr int, old, nf *Folio) {
	const site = "__replace_page"
	m := v.mm
	old.lock.Lock(t, site)
	pw := k.newPVMW(t, old, v, addr, false, false, site)
	if !pw.next() {
		old.lock.Unlock(t, site) // -EAGAIN
		k.discardFolio(nf)
		return
	}
	if pw.hp != nil || pw.pmdHit || pw.addr != addr {
		// Only under hugetlb_walk-without-lock (or a PMD mapping the
		// kernel's FOLL_SPLIT_PMD would have split): the walk found a huge
		// entry; what __replace_page would write there, a small page's PTE
		// over it, is beyond the model, which stops here. The walk itself
		// was the race.
		t.Record(sched.KindNote, v.name, site, fmt.Sprintf("found a huge entry at %s %#x: stops", m.name, pw.addr))
		pw.done()
		old.lock.Unlock(t, site)
		k.discardFolio(nf)
		return
	}
	tbl, i := pw.pte()
	k.folioAddNewAnonRmap(t, nf, v, addr)
	if !old.anon {
		m.rssFile.Add(-1)
		m.rssAnon.Add(1)
	}
	k.setPTE(t, m, tbl, i, addr, nil, "ptep_clear_flush")
	k.flushTLBRange(t, m, addr, addr+1, "ptep_clear_flush")
	k.setPTE(t, m, tbl, i, addr, &PTE{Kind: PTEPresent, Folio: nf, Read: true, ID: k.newID()}, site)
	// The mm reads its private copy from here, whatever happens to the
	// file page.
	k.logMem(t, MemEvent{Kind: MemStore, MM: m.name, Addr: addr, Value: nf.data.Load(), OK: true})
	k.dropMapping(t, old, site) // folio_remove_rmap_pte
	pw.done()
	old.lock.Unlock(t, site)
}
