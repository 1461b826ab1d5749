package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// PTETable is a page of PTEs. Its split PTL lives in the page (ptdesc), so
// it moves with the table when a PMD entry is moved and dies with it.
type PTETable struct {
	Obj
	ptl *ksync.Mutex
	e   []atomic.Pointer[PTE]
	// private is 1 + the task that holds the table outside any page table
	// (a deposited table withdrawn by a split and being filled, a table a
	// collapse detached and is emptying): only that task may write it.
	private int
}

// PMDTable is a page of PMD entries, with its own split PMD lock.
//
// The representation is meant to outlive THP: a hugetlb model maps its
// folios with PMD leaves (PMDEntry.Leaf of a hugetlb folio), and shares
// whole PMD tables between mms through huge_pmd_share, which is a PUD entry
// of several mms pointing at one PMDTable; that table then gets the share
// count of ptdesc->pt_share_count and the PUD entries stay what they are.
type PMDTable struct {
	Obj
	ptl *ksync.Mutex
	e   []atomic.Pointer[PMDEntry]
	// share is ptdesc->pt_share_count: the mms besides one whose PUD
	// points at this table (hugetlbshare.go).
	share atomic.Int32
	// deposits is pmd_huge_pte: the PTE tables deposited for this table's
	// anon THP leaves, under ptl (thpdeposit.go).
	deposits []*PTETable
}

// PMDEntry is the value of a PMD entry. Like a PTE it is immutable and
// replaced whole (a PMD entry is one word in the kernel: readers see the old
// or the new value, never a mix); nil is none. It is one of
//
//   - a pointer to a PTE table (Table; pmd_present && !pmd_leaf);
//   - a leaf (Leaf, a PTE value with Huge set): a THP mapped by the PMD
//     (Kind PTEPresent) or a PMD migration entry (Kind PTEMigration);
//
// (An anon leaf's deposited PTE table is in its PMD table's list:
// PMDTable.deposits, thpdeposit.go.)
type PMDEntry struct {
	Table *PTETable
	Leaf  *PTE
	// Invalid is a leaf pmdp_invalidate made invalid (pmd_mkinvalid): the
	// MMU no longer translates through it (a hardware walk faults), while
	// the kernel's software walkers still see a huge PMD (pmd_trans_huge)
	// and wait for its PMD lock.
	Invalid bool
}

func (e *PMDEntry) String() string {
	switch {
	case e == nil:
		return "none"
	case e.Table != nil:
		return e.Table.name
	case e.Invalid:
		return e.Leaf.String() + " (invalid)"
	}
	return e.Leaf.String()
}

// Entry returns PTE entry i (nil means none).
func (p *PTETable) Entry(i int) *PTE { return p.e[i].Load() }

// Len returns the number of entries.
func (p *PTETable) Len() int { return len(p.e) }

// PTL returns the table's lock.
func (p *PTETable) PTL() *ksync.Mutex { return p.ptl }

// Entry returns PMD entry i (nil means none).
func (p *PMDTable) Entry(i int) *PMDEntry { return p.e[i].Load() }

// Len returns the number of entries.
func (p *PMDTable) Len() int { return len(p.e) }

func (k *Kernel) newPTETable() *PTETable {
	o, id := k.newObjID(kindPTE)
	p := &PTETable{Obj: o, e: make([]atomic.Pointer[PTE], k.Geo.PTEs)}
	p.ptl = k.Env.NewMutex(lockName(ptlLock, id, p.name), ksync.ClassPTL)
	k.mu.Lock()
	k.tables = append(k.tables, p)
	k.mu.Unlock()
	return p
}

func (k *Kernel) newPMDTable() *PMDTable {
	o, id := k.newObjID(kindPMD)
	p := &PMDTable{Obj: o, e: make([]atomic.Pointer[PMDEntry], k.Geo.PMDs)}
	p.ptl = k.Env.NewMutex(lockName(pmdLock, id, p.name), ksync.ClassPTL)
	k.mu.Lock()
	k.pmds = append(k.pmds, p)
	k.mu.Unlock()
	return p
}

// pfn0Table is what pmd_pgtable() of a none PMD points at: the page at pfn
// 0, which is no page table. A PMD entry that points at it is the symptom
// of D.7 (a PMD populated from a value that was none); touching it is
// reported as touching a freed table.
func (k *Kernel) pfn0Table() *PTETable {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pfn0 == nil {
		k.pfn0 = &PTETable{Obj: Obj{name: "pt#pfn0", freed: true, freedStep: -1,
			freedBy: "never a page table: pmd_pgtable() of a none PMD is the page at pfn 0"}, e: make([]atomic.Pointer[PTE], k.Geo.PTEs)}
		k.pfn0.ptl = k.Env.NewMutex("ptl(pt#pfn0)", ksync.ClassPTL)
	}
	return k.pfn0
}

// pmdOffset reads the PUD entry covering addr (lockless).
func (m *MM) pmdOffset(addr int) *PMDTable { return m.pud[m.k.Geo.pudIndex(addr)].Load() }

// pmdSlot returns the PMD entry slot covering addr, or nil when there is no
// PMD table.
func (m *MM) pmdSlot(addr int) *atomic.Pointer[PMDEntry] {
	pmd := m.pmdOffset(addr)
	if pmd == nil {
		return nil
	}
	return &pmd.e[m.k.Geo.pmdIndex(addr)]
}

// pmdEntry reads the PMD entry covering addr (pmdp_get_lockless; nil when
// none or when there is no PMD table).
func (m *MM) pmdEntry(addr int) *PMDEntry {
	if s := m.pmdSlot(addr); s != nil {
		return s.Load()
	}
	return nil
}

// pteTable reads the PMD entry covering addr and returns the PTE table it
// points to (lockless; nil when none, a leaf or a migration entry).
func (m *MM) pteTable(addr int) *PTETable {
	if e := m.pmdEntry(addr); e != nil {
		return e.Table
	}
	return nil
}

// Walk is the lockless hardware walk: the entry mapping addr, or nil. A PMD
// leaf answers for each page it maps with a PTE value naming that page.
func (m *MM) Walk(addr int) *PTE {
	e := m.pmdEntry(addr)
	switch {
	case e == nil:
		return nil
	case e.Leaf != nil:
		return e.Leaf.pageOf(addr - m.k.Geo.pmdBase(addr))
	}
	return e.Table.e[m.k.Geo.pteIndex(addr)].Load()
}

// pageOf returns the value a PMD leaf has for its page i, as the hardware
// (or a split) sees it.
func (p *PTE) pageOf(i int) *PTE {
	q := *p
	q.Page, q.Huge = i, false
	return &q
}

// pmdAlloc is __pmd_alloc(): populate the PUD entry under page_table_lock.
func (k *Kernel) pmdAlloc(t *sched.Task, m *MM, addr int, site string) *PMDTable {
	slot := &m.pud[k.Geo.pudIndex(addr)]
	if p := slot.Load(); p != nil {
		return p
	}
	n := k.newPMDTable()
	m.ptlock.Lock(t, site)
	p := slot.Load()
	if p == nil {
		t.PointF(sched.KindWrite, site, sched.Objf("%s pud").S(m.name).Detailf("install %s for %#x").S(n.name).N(addr))
		slot.Store(n)
		p = n
	} else {
		n.freed = true // lost the race: never published
	}
	m.ptlock.Unlock(t, site)
	return p
}

// pteAlloc is pte_alloc() → __pte_alloc() → pmd_install(): populate a none
// PMD entry under the PMD lock, re-checking it is still none. It returns the
// table the entry points to, or nil when the entry is a leaf (a THP mapped
// there meanwhile): the caller's pte_offset_map then fails and the fault is
// retried.
func (k *Kernel) pteAlloc(t *sched.Task, m *MM, addr int, site string) *PTETable {
	pmd := k.pmdAlloc(t, m, addr, site)
	slot := &pmd.e[k.Geo.pmdIndex(addr)]
	if e := slot.Load(); e != nil {
		return e.Table
	}
	n := k.newPTETable()
	pmd.ptl.Lock(t, "pmd_install")
	e := slot.Load()
	if e == nil {
		t.PointF(sched.KindWrite, "pmd_install", sched.Obj(pmd.name).Detailf("install %s for %#x").S(n.name).N(addr))
		e = &PMDEntry{Table: n}
		slot.Store(e)
	} else {
		n.freed = true
	}
	pmd.ptl.Unlock(t, "pmd_install")
	return e.Table
}

// pteOffsetMap is __pte_offset_map() (mm/pgtable-generic.c, v6.5+, Hugh
// Dickins' series making it fallible): inside an RCU read section, read
// the PMD entry once (pmdp_get_lockless) and map the PTE table it points
// to. A none, leaf or migration PMD gives nil and leaves the read section.
// On success the caller stays in the read section until pteUnmap: the
// table may be detached meanwhile (retract_page_tables, PT reclaim), but
// it is freed only after a grace period (pte_free_defer, tlb_remove_table),
// so the mapping stays valid memory.
//
// The PMD is read right after the read section begins: when
// rcu_read_lock is the outermost one, its own scheduling point stands for
// the read's (whatever another task does between the two — clear the PMD,
// queue the table's free — the read sees the same, and a free queued
// there only waits for this section, which does not touch the table).
func (k *Kernel) pteOffsetMap(t *sched.Task, m *MM, addr int, site string) *PTETable {
	rcu := k.Env.RCU()
	nested := rcu.InReadSection(t)
	rcu.ReadLock(t, site)
	if nested {
		t.PointF(sched.KindRead, site, sched.Objf("%s pmd").S(m.name).Detailf("pmd for %#x (lockless)").N(addr))
	}
	tbl := m.pteTable(addr)
	if tbl == nil {
		rcu.ReadUnlock(t, site)
		return nil
	}
	k.use(t, &tbl.Obj, site)
	t.Window(sched.WindowWalk) // until the PTL or the walk's next read (sched.Windower)
	return tbl
}

// pteUnmap is pte_unmap(): the end of the read section of pteOffsetMap.
func (k *Kernel) pteUnmap(t *sched.Task, site string) { k.Env.RCU().ReadUnlock(t, site) }

// pteOffsetMapLock is pte_offset_map_lock() → __pte_offset_map_lock()
// (mm/pgtable-generic.c, v6.5+): map the table (pteOffsetMap), take its
// PTL, then re-check that the PMD still points to it (pmd_same), and on a
// change unlock, unmap and start again, since the table may have been
// detached and be waiting for its RCU free (Documentation/mm/process_addrs.rst;
// reference A.7, C.9, D.10b). It returns nil (out of the read section) when
// there is no table; else the table with its PTL held, inside the read
// section, released by pteUnmapUnlock.
//
// The re-check reads the PMD right after the PTL is granted, without a
// scheduling point between: every path that changes a PMD entry pointing
// to a table holds that table's PTL (retract_page_tables, PT reclaim) or
// excludes every PTL user of the range by mmap_lock W, the VMA write lock
// and the rmap locks W (move_normal_pmd, collapse_huge_page, free_pgtables),
// so in the faithful kernel nothing can run there.
func (k *Kernel) pteOffsetMapLock(t *sched.Task, m *MM, addr int, site string) (*PTETable, int) {
	for {
		tbl := k.pteOffsetMap(t, m, addr, site)
		if tbl == nil {
			return nil, 0
		}
		tbl.ptl.Lock(t, site)
		k.useIn(t, &tbl.Obj, site, "spin_lock of the PTL in the table's ptdesc")
		if m.pteTable(addr) == tbl || k.Variants.Has("pte_offset_map_lock-no-pmd-recheck") {
			return tbl, k.Geo.pteIndex(addr)
		}
		t.Record(sched.KindNote, tbl.name, site, fmt.Sprintf("!pmd_same: %s no longer maps %s %#x; map again", tbl.name, m.name, addr))
		tbl.ptl.Unlock(t, site)
		// spin_unlock writes the lock word in the detached table's ptdesc
		// (split PTLs): the read section is what keeps it valid until here.
		k.useIn(t, &tbl.Obj, site, "spin_unlock of the PTL in the detached table's ptdesc")
		k.pteUnmap(t, site)
	}
}

// pteUnmapUnlock is pte_unmap_unlock(): the PTL, then the read section.
func (k *Kernel) pteUnmapUnlock(t *sched.Task, tbl *PTETable, site string) {
	tbl.ptl.Unlock(t, site)
	// spin_unlock writes the PTL in the table's ptdesc (split PTLs): a
	// detached table lives until the read section ends, not before.
	k.useIn(t, &tbl.Obj, site, "spin_unlock of the PTL in the table's ptdesc")
	k.pteUnmap(t, site)
}

// setPTE writes a leaf entry: only under the table's PTL (reference A.7),
// and only into a table reachable from its PMD at that moment, unless the
// table is the writer's own (withdrawn or detached by it): a write into a
// table that was detached (and waits for its RCU free) is lost with it, the
// consequence of D.10b (invariant page-table-lifetime).
func (k *Kernel) setPTE(t *sched.Task, m *MM, tbl *PTETable, i, addr int, v *PTE, site string) {
	k.use(t, &tbl.Obj, site)
	if tbl.private != t.ID()+1 {
		tbl.ptl.AssertHeldIn(t, site, "leaf entry written without its PTL")
	}
	old := tbl.e[i].Load()
	ot, nt := pteTextOf(old), pteTextOf(v)
	t.PointF(sched.KindWrite, site, nt.ops(ot.ops(sched.Objf("pte %s %#x").S(m.name).N(addr).Detailf(pteMoveFormats[ot.shape][nt.shape]))))
	if tbl.private != t.ID()+1 && m.pteTable(addr) != tbl {
		now := "none"
		if e := m.pmdEntry(addr); e != nil {
			now = e.String()
		}
		t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s writes %s %#x into %s, which the PMD no longer points to (it points to %s): the table was detached (and waits for its free), so the write is lost with it", site, m.name, addr, tbl.name, now)})
	}
	if old != nil {
		k.noteWrite(t, old.ID)
	}
	if v != nil && v.Kind != PTENone {
		k.noteWrite(t, v.ID)
	}
	if v != nil && v.Kind == PTENone {
		v = nil
	}
	// A table the writer detached and owns (collapse_huge_page's, after
	// pmdp_collapse_flush) is reached by no walk: its detach owed, and
	// flushed, every translation through it, so clearing its entries takes
	// away nothing a TLB may hold.
	if reducesTranslation(old, v) && tbl.private != t.ID()+1 {
		k.tlbPending(t, m, addr, addr+1) // until this task's flush of addr
	}
	tbl.e[i].Store(v)
}

// ForEachPTE calls fn for every non-none entry of m, in address order: PTEs
// with their table, PMD leaves once, at the PMD's base address, with a nil
// table.
func (m *MM) ForEachPTE(fn func(addr int, tbl *PTETable, pte *PTE)) {
	g := m.k.Geo
	for pi := range m.pud {
		pmd := m.pud[pi].Load()
		if pmd == nil {
			continue
		}
		for mi := range pmd.e {
			e := pmd.e[mi].Load()
			if e == nil {
				continue
			}
			base := (pi*g.PMDs + mi) * g.PTEs
			if e.Leaf != nil {
				fn(base, nil, e.Leaf)
				continue
			}
			for ei := range e.Table.e {
				if p := e.Table.e[ei].Load(); p != nil {
					fn(base+ei, e.Table, p)
				}
			}
		}
	}
}

// ForEachTable calls fn for every PMD table (with a nil entry) and every
// non-none PMD entry reachable from m's page tables.
func (m *MM) ForEachTable(fn func(base int, pmd *PMDTable, e *PMDEntry)) {
	g := m.k.Geo
	for pi := range m.pud {
		pmd := m.pud[pi].Load()
		if pmd == nil {
			continue
		}
		fn(pi*g.PMDs*g.PTEs, pmd, nil)
		for mi := range pmd.e {
			if e := pmd.e[mi].Load(); e != nil {
				fn((pi*g.PMDs+mi)*g.PTEs, pmd, e)
			}
		}
	}
}
