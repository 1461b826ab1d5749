package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// The huge page pool and its reservations (mm/hugetlb.c, v6.17;
// Documentation/mm/hugetlbfs_reserv.rst), for shared mappings.
//
// The hstate counts the pool's free pages (free_huge_pages) and the pages
// promised to mappings but not yet allocated (resv_huge_pages), both under
// hugetlb_lock. mmap of a hugetlbfs file with MAP_SHARED reserves every huge
// page of the range the inode's reserve map (resv_map, regions of file
// indices, under resv_map->lock) does not hold yet: hugetlb_reserve_pages
// counts them (region_chg), charges resv_huge_pages (hugetlb_acct_memory:
// ENOMEM unless free_huge_pages covers the new total) and adds them
// (region_add). For a shared mapping an index in the map is reserved, or
// instantiated (its folio is in the page cache), so at a quiescent point
// resv_huge_pages is the number of indices in the maps whose page the page
// cache does not hold. A fault allocates (alloc_hugetlb_folio):
// vma_needs_reservation (region_chg of the index: 0 when the map holds it),
// then under hugetlb_lock a free page, consuming a reservation when the map
// held the index (resv_huge_pages--, HPG_restore_reserve set), else only
// when free pages exceed the reservations (available_huge_pages), then
// vma_commit_reservation (region_add; if a concurrent mmap added the index
// meanwhile, its reservation is given back). hugetlb_add_to_page_cache
// clears HPG_restore_reserve; a folio freed with it set
// (free_huge_folio: the loser of a race to the page cache) restores the
// reservation. remove_inode_single_folio, after taking the folio out of the
// page cache, drops the index from the map (hugetlb_unreserve_pages(inode,
// index, index + 1, 1): region_del, and resv_huge_pages -= deleted - freed).
//
// The fault mutex (hugetlb_fault) keeps two faults of one index, and a
// fault and the punch of its index, from interleaving these steps: without
// it both faults consume the one reservation (resv_huge_pages underflows),
// or the second finds the pool empty and fails a fault mmap promised to
// satisfy ("to prevent spurious OOMs when the hugepage pool is fully
// utilized"); a fault between the punch's page-cache removal and its
// region_del consumes a reservation that no longer exists.
//
// Invariant hugetlb-reservation watches it: resv_huge_pages never goes
// below zero, a fault of a shared mapping at an index the reserve map
// holds never fails for want of a page, and at a quiescent point
// resv_huge_pages counts exactly the reserved indices without a page-cache
// folio (and, for a finite pool, free_huge_pages the pool's unused pages).
//
// What the model leaves out: private mappings reserve nothing (as with
// MAP_NORESERVE: their faults and COW copies take only unreserved free
// pages, and fail with SIGBUS otherwise); no subpools, surplus or
// overcommit pages; a migration's target is a temporary page outside the
// pool whose pool membership the old folio hands over on success
// (move_hugetlb_state), which is what the kernel's dequeue, then free of
// the old folio, comes to; no truncation. Without a "hugepages N" line the
// pool is unbounded: allocations never fail, the reservations are still
// counted and checked.

// hugePool is the default hstate's pool counters.
type hugePool struct {
	mu   ksync.Mu // hugetlb_lock (free mode); each update is one step
	size int      // a "hugepages N" line's N; 0: unbounded (free is not counted)
	free int      // free_huge_pages
	resv int      // resv_huge_pages
}

// limited reports whether the pool is finite ("hugepages N").
func (p *hugePool) limited() bool { return p.size > 0 }

// SetHugePages makes the pool finite: n huge pages, all free.
func (k *Kernel) SetHugePages(n int) {
	k.hpool.size, k.hpool.free = n, n
}

// resvIndex is the reserve-map slot of file index idx (one per huge page).
func (f *File) resvIndex(idx int) int { return idx / f.k.Geo.PTEs }

// resvMap returns f's reserve map, made on first use. The caller holds
// f.resvMu.
func (f *File) resvMapLocked() []bool {
	if f.resv == nil {
		f.resv = make([]bool, (f.npages+f.k.Geo.PTEs-1)/f.k.Geo.PTEs)
	}
	return f.resv
}

// hugetlbReservePages mirrors hugetlb_reserve_pages() for a shared mapping
// of f's indices [from, to): region_chg, hugetlb_acct_memory, region_add,
// each a step of its own, as the kernel takes resv_map->lock and
// hugetlb_lock separately.
func (k *Kernel) hugetlbReservePages(t *sched.Task, f *File, from, to int) error {
	const site = "hugetlb_reserve_pages"
	t.Point(sched.KindRead, f.name+" resv_map", site, fmt.Sprintf("region_chg [%#x,%#x)", from, to))
	f.resvMu.Lock()
	chg := 0
	for idx := from; idx < to; idx += k.Geo.PTEs {
		if !f.resvMapLocked()[f.resvIndex(idx)] {
			chg++
		}
	}
	f.resvMu.Unlock()
	if chg == 0 {
		return nil
	}
	t.Point(sched.KindWrite, "hugetlb pool", "hugetlb_acct_memory", fmt.Sprintf("resv_huge_pages += %d", chg))
	p := &k.hpool
	p.mu.Lock()
	if p.limited() && p.free < p.resv+chg { // gather_surplus_pages: no overcommit
		p.mu.Unlock()
		return fmt.Errorf("mmap: ENOMEM: %d huge pages to reserve, %d free and %d reserved", chg, p.free, p.resv)
	}
	p.resv += chg
	p.mu.Unlock()
	t.Point(sched.KindWrite, f.name+" resv_map", site, fmt.Sprintf("region_add [%#x,%#x)", from, to))
	f.resvMu.Lock()
	add := 0
	for idx := from; idx < to; idx += k.Geo.PTEs {
		if m := f.resvMapLocked(); !m[f.resvIndex(idx)] {
			m[f.resvIndex(idx)] = true
			add++
		}
	}
	f.resvMu.Unlock()
	if chg > add {
		// A fault committed an index between region_chg and region_add
		// with a page of its own: that reservation no longer applies.
		k.hugetlbAcct(t, -(chg - add), site)
	}
	return nil
}

// hugetlbAcct changes resv_huge_pages by delta (hugetlb_acct_memory, or
// the reservation a fault consumes or a freed folio restores), checking
// that it does not underflow.
func (k *Kernel) hugetlbAcct(t *sched.Task, delta int, site string) {
	p := &k.hpool
	p.mu.Lock()
	p.resv += delta
	resv := p.resv
	p.mu.Unlock()
	if resv < 0 && t != nil {
		t.Fail(sched.Violation{Invariant: "hugetlb-reservation", Detail: fmt.Sprintf("%s: resv_huge_pages underflows (%d): a reservation was consumed twice, or one that no longer exists was consumed", site, resv)})
	}
}

// allocHugetlbFolioShared mirrors alloc_hugetlb_folio() for a fault of a
// shared mapping of f at index idx: vma_needs_reservation, the dequeue under
// hugetlb_lock, vma_commit_reservation, each a step of its own. It returns
// nil when the pool has no page for it (the buddy fallback,
// alloc_surplus_hugetlb_folio, fails: no overcommit), and whether the
// reserve map held the index when it looked.
func (k *Kernel) allocHugetlbFolioShared(t *sched.Task, f *File, idx int) (fo *Folio, reserved bool) {
	const site = "alloc_hugetlb_folio"
	t.Point(sched.KindRead, f.name+" resv_map", "vma_needs_reservation", fmt.Sprintf("region_chg %#x", idx))
	f.resvMu.Lock()
	reserved = f.resvMapLocked()[f.resvIndex(idx)]
	f.resvMu.Unlock()
	if !k.hugetlbDequeue(t, reserved, site) {
		return nil, reserved
	}
	fo = k.allocHugetlbFolio(false)
	fo.hugePool, fo.restoreReserve = true, reserved
	t.Point(sched.KindWrite, f.name+" resv_map", "vma_commit_reservation", fmt.Sprintf("region_add %#x", idx))
	f.resvMu.Lock()
	m := f.resvMapLocked()
	added := !m[f.resvIndex(idx)]
	m[f.resvIndex(idx)] = true
	f.resvMu.Unlock()
	if !reserved && !added {
		// An mmap reserved the index between the two looks: its
		// reservation, charged for this page, no longer applies.
		k.hugetlbAcct(t, -1, "vma_commit_reservation")
	}
	return fo, reserved
}

// allocHugetlbFolioPrivate is alloc_hugetlb_folio() for a private mapping,
// which reserves nothing in the model: an unreserved free page, or nil.
func (k *Kernel) allocHugetlbFolioPrivate(t *sched.Task) *Folio {
	if !k.hugetlbDequeue(t, false, "alloc_hugetlb_folio") {
		return nil
	}
	fo := k.allocHugetlbFolio(true)
	fo.hugePool = true
	return fo
}

// hugetlbDequeue is dequeue_hugetlb_folio_vma() under hugetlb_lock: a free
// page, consuming a reservation when the caller has one (gbl_chg == 0),
// else only when free pages exceed the reservations. It reports whether it
// got one.
func (k *Kernel) hugetlbDequeue(t *sched.Task, reserved bool, site string) bool {
	t.Point(sched.KindWrite, "hugetlb pool", "dequeue_hugetlb_folio_vma", map[bool]string{true: "a reserved page", false: "an unreserved page"}[reserved])
	p := &k.hpool
	p.mu.Lock()
	ok := true
	switch {
	case p.limited() && !reserved && p.free <= p.resv: // !available_huge_pages
		ok = false
	case p.limited() && p.free == 0:
		ok = false
	case p.limited():
		p.free--
	}
	p.mu.Unlock()
	if ok && reserved {
		k.hugetlbAcct(t, -1, site) // folio_set_hugetlb_restore_reserve
	}
	return ok
}

// hugetlbFreeFolio is free_huge_folio() for a pool folio whose last
// reference went: back to the free list, restoring its reservation if it
// never reached the page cache. t may be nil (a folio nobody saw).
func (k *Kernel) hugetlbFreeFolio(t *sched.Task, f *Folio) {
	if !f.hugePool {
		return
	}
	f.hugePool = false
	p := &k.hpool
	p.mu.Lock()
	if p.limited() {
		p.free++
	}
	p.mu.Unlock()
	if f.restoreReserve {
		f.restoreReserve = false
		k.hugetlbAcct(t, 1, "free_huge_folio")
	}
}

// hugetlbUnreservePage mirrors hugetlb_unreserve_pages(inode, idx, idx+1,
// 1), which remove_inode_single_folio calls once the folio left the page
// cache: region_del, then resv_huge_pages -= deleted - freed.
func (k *Kernel) hugetlbUnreservePage(t *sched.Task, f *File, idx int) {
	const site = "hugetlb_unreserve_pages"
	t.Point(sched.KindWrite, f.name+" resv_map", site, fmt.Sprintf("region_del %#x", idx))
	f.resvMu.Lock()
	m := f.resvMapLocked()
	chg := 0
	if m[f.resvIndex(idx)] {
		chg = 1
		m[f.resvIndex(idx)] = false
	}
	f.resvMu.Unlock()
	if chg != 1 {
		k.hugetlbAcct(t, -(chg - 1), site)
	}
}

// CheckHugetlbReservations is invariant hugetlb-reservation at a
// quiescent point: resv_huge_pages is the number of reserved indices
// whose page the page cache does not hold, and in a finite pool the free
// pages are those no live folio uses. It returns "" when they agree.
func (k *Kernel) CheckHugetlbReservations() string {
	want := 0
	for _, f := range k.files {
		if !f.hugetlb {
			continue
		}
		f.resvMu.Lock()
		for i, r := range f.resv {
			if r && f.pages[i*k.Geo.PTEs].Load() == nil {
				want++
			}
		}
		f.resvMu.Unlock()
	}
	used := 0
	for _, fo := range k.folios {
		if fo.hugePool {
			used++
		}
	}
	p := &k.hpool
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resv != want {
		return fmt.Sprintf("resv_huge_pages is %d, but %d reserved huge pages are not yet in the page cache", p.resv, want)
	}
	if p.limited() && p.free != p.size-used {
		return fmt.Sprintf("free_huge_pages is %d, but %d of the pool's %d huge pages are in use", p.free, used, p.size)
	}
	return ""
}

// hugetlbNoPageNoSpace is hugetlb_no_page() when alloc_hugetlb_folio
// failed: "Returning error will result in faulting task being sent SIGBUS.
// The hugetlb fault mutex prevents two tasks from racing to fault in the
// same page which could result in false unable to allocate errors": unless
// the entry changed meanwhile (hugetlb_pte_stable, under the PTL: then the
// fault is retried), the fault fails. For an index the reserve map held,
// that is a reservation broken.
func (k *Kernel) hugetlbNoPageNoSpace(t *sched.Task, v *VMA, haddr, idx int, hp *hugePTE, reserved bool) FaultResult {
	const site = "hugetlb_no_page"
	hp.lock(t, site)
	stable := hp.slot.Load() == nil
	hp.unlock(t, site)
	if !stable {
		return FaultDone
	}
	t.Record(sched.KindNote, "hugetlb pool", site, fmt.Sprintf("alloc_hugetlb_folio for %s %#x: -ENOSPC (SIGBUS)", v.file.name, idx))
	if reserved {
		t.Fail(sched.Violation{Invariant: "hugetlb-reservation", Detail: fmt.Sprintf("a fault of %s %#x (%s page %#x) fails for want of a huge page (SIGBUS), although the page is reserved: mmap's reservation promised it", v.mm.name, haddr, v.file.name, idx)})
	}
	return FaultSEGV
}
