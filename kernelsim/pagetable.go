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
}

// PMDTable is a page of PMD entries pointing to PTE tables, with its own
// split PMD lock.
type PMDTable struct {
	Obj
	ptl *ksync.Mutex
	e   []atomic.Pointer[PTETable]
}

// Entry returns entry i (nil means none).
func (p *PTETable) Entry(i int) *PTE { return p.e[i].Load() }

// Len returns the number of entries.
func (p *PTETable) Len() int { return len(p.e) }

// PTL returns the table's lock.
func (p *PTETable) PTL() *ksync.Mutex { return p.ptl }

// Entry returns PMD entry i.
func (p *PMDTable) Entry(i int) *PTETable { return p.e[i].Load() }

func (k *Kernel) newPTETable() *PTETable {
	p := &PTETable{Obj: k.newObj(kindPTE), e: make([]atomic.Pointer[PTE], k.Geo.PTEs)}
	p.ptl = k.Env.NewMutex("ptl("+p.name+")", ksync.ClassPTL)
	k.mu.Lock()
	k.tables = append(k.tables, p)
	k.mu.Unlock()
	return p
}

func (k *Kernel) newPMDTable() *PMDTable {
	p := &PMDTable{Obj: k.newObj(kindPMD), e: make([]atomic.Pointer[PTETable], k.Geo.PMDs)}
	p.ptl = k.Env.NewMutex("pmd_lock("+p.name+")", ksync.ClassPTL)
	k.mu.Lock()
	k.pmds = append(k.pmds, p)
	k.mu.Unlock()
	return p
}

// pmdOffset reads the PUD entry covering addr (lockless).
func (m *MM) pmdOffset(addr int) *PMDTable { return m.pud[m.k.Geo.pudIndex(addr)].Load() }

// pteTable reads the PMD entry covering addr (lockless; nil when none).
func (m *MM) pteTable(addr int) *PTETable {
	pmd := m.pmdOffset(addr)
	if pmd == nil {
		return nil
	}
	return pmd.e[m.k.Geo.pmdIndex(addr)].Load()
}

// Walk is the lockless hardware walk: the entry mapping addr, or nil.
func (m *MM) Walk(addr int) *PTE {
	tbl := m.pteTable(addr)
	if tbl == nil {
		return nil
	}
	return tbl.e[m.k.Geo.pteIndex(addr)].Load()
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
		t.Point(sched.KindWrite, m.name+" pud", site, fmt.Sprintf("install %s for %#x", n.name, addr))
		slot.Store(n)
		p = n
	} else {
		n.freed = true // lost the race: never published
	}
	m.ptlock.Unlock(t, site)
	return p
}

// pteAlloc is pte_alloc() → __pte_alloc() → pmd_install(): populate the
// PMD entry under the PMD lock, re-checking it is still none.
func (k *Kernel) pteAlloc(t *sched.Task, m *MM, addr int, site string) *PTETable {
	pmd := k.pmdAlloc(t, m, addr, site)
	slot := &pmd.e[k.Geo.pmdIndex(addr)]
	if p := slot.Load(); p != nil {
		return p
	}
	n := k.newPTETable()
	pmd.ptl.Lock(t, "pmd_install")
	p := slot.Load()
	if p == nil {
		t.Point(sched.KindWrite, pmd.name, "pmd_install", fmt.Sprintf("install %s for %#x", n.name, addr))
		slot.Store(n)
		p = n
	} else {
		n.freed = true
	}
	pmd.ptl.Unlock(t, "pmd_install")
	return p
}

// pteOffsetMapLock is pte_offset_map_lock(): read the PMD entry, take the
// table's PTL, re-check the PMD entry (pmd_same) and retry if it changed.
// It returns nil when there is no table.
func (k *Kernel) pteOffsetMapLock(t *sched.Task, m *MM, addr int, site string) (*PTETable, int) {
	for {
		t.Point(sched.KindRead, m.name+" pmd", site, fmt.Sprintf("pmd for %#x", addr))
		tbl := m.pteTable(addr)
		if tbl == nil {
			return nil, 0
		}
		k.use(t, &tbl.Obj, site)
		tbl.ptl.Lock(t, site)
		if m.pteTable(addr) == tbl {
			return tbl, k.Geo.pteIndex(addr)
		}
		tbl.ptl.Unlock(t, site)
	}
}

// setPTE writes a leaf entry: only under the table's PTL (reference A.7).
func (k *Kernel) setPTE(t *sched.Task, m *MM, tbl *PTETable, i, addr int, v *PTE, site string) {
	k.use(t, &tbl.Obj, site)
	tbl.ptl.AssertHeld(t, site+": leaf entry written without its PTL")
	old := tbl.e[i].Load()
	t.Point(sched.KindWrite, fmt.Sprintf("pte %s %#x", m.name, addr), site, old.String()+" -> "+v.String())
	if old != nil {
		k.noteWrite(t, old.ID)
	}
	if v != nil && v.Kind != PTENone {
		k.noteWrite(t, v.ID)
	}
	if v != nil && v.Kind == PTENone {
		v = nil
	}
	if reducesTranslation(old, v) {
		k.tlbPending(t, m, addr, addr+1) // until this task's flush of addr
	}
	tbl.e[i].Store(v)
}

// ForEachPTE calls fn for every non-none entry of m, in address order.
func (m *MM) ForEachPTE(fn func(addr int, tbl *PTETable, pte *PTE)) {
	g := m.k.Geo
	for pi := range m.pud {
		pmd := m.pud[pi].Load()
		if pmd == nil {
			continue
		}
		for mi := range pmd.e {
			tbl := pmd.e[mi].Load()
			if tbl == nil {
				continue
			}
			for ei := range tbl.e {
				if p := tbl.e[ei].Load(); p != nil {
					fn((pi*g.PMDs+mi)*g.PTEs+ei, tbl, p)
				}
			}
		}
	}
}

// ForEachTable calls fn for every PTE table reachable from m's page tables.
func (m *MM) ForEachTable(fn func(base int, pmd *PMDTable, tbl *PTETable)) {
	g := m.k.Geo
	for pi := range m.pud {
		pmd := m.pud[pi].Load()
		if pmd == nil {
			continue
		}
		fn(pi*g.PMDs*g.PTEs, pmd, nil)
		for mi := range pmd.e {
			if tbl := pmd.e[mi].Load(); tbl != nil {
				fn((pi*g.PMDs+mi)*g.PTEs, pmd, tbl)
			}
		}
	}
}
