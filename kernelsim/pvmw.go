package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/sched"
)

// pvmw is struct page_vma_mapped_walk: where a folio is mapped in one VMA,
// found page table by page table (mm/page_vma_mapped.c, v6.12+, reference
// C.9). next() returns each mapping in turn with its lock held — the PMD
// lock for a PMD leaf or PMD migration entry (pmdHit), the PTL for a PTE —
// and keeps the PTL from one PTE of a table to the next; it drops the PTL
// and the table's mapping when the walk crosses into the next PTE table
// and starts again from the PMD (restart), and done() releases whatever
// the walk holds (page_vma_mapped_walk_done).
//
// Without sync (PVMW_SYNC) the walk maps tables locklessly
// (pte_offset_map_rw_nolock), reads PTEs without the PTL, skips what is not
// a candidate without taking it, and re-checks the PMD (pmd_same) when it
// takes the PTL, starting again if the table was replaced. With sync it
// takes the PTL before it looks (pte_offset_map_lock).
type pvmw struct {
	k         *Kernel
	t         *sched.Task
	f         *Folio // the folio looked for (pvmw->pfn, nr_pages)
	v         *VMA
	addr      int // pvmw->address
	end       int // vma_address_end
	sync      bool
	migration bool // PVMW_MIGRATION: look for migration entries
	site      string

	slot    *atomic.Pointer[PMDEntry] // pvmw->pmd, once the walk reached a PMD
	pmdLock bool                      // the PMD lock is held (a PMD match)
	pmdHit  bool                      // the match was at PMD level (pvmw->pte == NULL)
	tbl     *PTETable                 // the mapped PTE table (pvmw->pte), inside an RCU read section
	pmde    *PTETable                 // the table map_pte mapped (pmdval, for pmd_same)
	locked  bool                      // tbl's PTL is held (pvmw->ptl)
	i       int                       // index of the matching PTE in tbl
	hp      *hugePTE                  // a hugetlb VMA's entry (pvmw->pte), its huge_pte_lock held
	hpDone  bool                      // the hugetlb VMA's only possible mapping was handled
}

// newPVMW starts a walk for f in v from start (vma_address).
func (k *Kernel) newPVMW(t *sched.Task, f *Folio, v *VMA, start int, sync, migration bool, site string) *pvmw {
	end := start + 1
	if f.Nr() > 1 {
		end = v.start + (f.index + f.Nr() - v.pgoff)
		if end < v.start || end > v.end {
			end = v.end
		}
	}
	return &pvmw{k: k, t: t, f: f, v: v, addr: start, end: end, sync: sync, migration: migration, site: site}
}

// vmaAddress is vma_address(vma, folio->index, folio_nr_pages(folio)): the
// address of the folio's first page in v, or v's start when the folio
// begins before it; ok is false when the folio lies outside v.
func (v *VMA) vmaAddress(f *Folio) (int, bool) {
	if f.index >= v.pgoff {
		a := v.start + (f.index - v.pgoff)
		return a, a >= v.start && a < v.end
	}
	if f.index+f.Nr()-1 >= v.pgoff {
		return v.start, true
	}
	return 0, false
}

// pmdTable returns the PMD table of the walk's PMD (whose lock is pmd_lock).
func (w *pvmw) pmdTable() *PMDTable { return w.v.mm.pmdOffset(w.addr) }

// next is page_vma_mapped_walk(): true with the next mapping of the folio
// locked, false (everything released) when there is none.
func (w *pvmw) next() bool {
	k, t, m, g := w.k, w.t, w.v.mm, w.k.Geo
	if w.v.isHugetlb() {
		return w.nextHugetlb()
	}
	if w.pmdHit {
		return w.notFound() // the only possible PMD mapping was the last match
	}
	atPTE := w.tbl != nil // continue after the last match, at next_pte
	for {
		if !atPTE {
			// restart: from the PMD covering addr.
			if w.addr >= w.end {
				return w.notFound()
			}
			pmd := m.pmdOffset(w.addr)
			if pmd == nil { // pud_none: step_forward(PUD_SIZE)
				w.addr = (w.addr/(g.PTEs*g.PMDs) + 1) * (g.PTEs * g.PMDs)
				continue
			}
			w.slot = &pmd.e[g.pmdIndex(w.addr)]
			t.PointF(sched.KindRead, w.site, sched.Objf("%s pmd").S(m.name).Detailf("pmd for %#x (lockless)").N(w.addr))
			e := w.slot.Load()
			if e != nil && e.Leaf != nil {
				// A THP or a PMD migration entry: look again under the PMD lock.
				pmd.ptl.Lock(t, w.site)
				w.pmdLock = true
				e = w.slot.Load()
				switch {
				case e == nil || (e.Leaf != nil && e.Leaf.Kind != PTEPresent):
					if !w.migration || e == nil || e.Leaf.PageFolio() != w.f {
						t.Record(sched.KindWalk, w.v.Describe(), w.site, fmt.Sprintf("looks at %s pmd %#x: %s", m.name, w.addr, e))
						return w.notFound()
					}
					w.pmdHit = true
					t.Record(sched.KindWalk, w.v.Describe(), w.site, fmt.Sprintf("looks at %s pmd %#x: %s", m.name, w.addr, e))
					return true
				case e.Leaf != nil:
					if w.migration || e.Leaf.PageFolio() != w.f {
						t.Record(sched.KindWalk, w.v.Describe(), w.site, fmt.Sprintf("looks at %s pmd %#x: %s", m.name, w.addr, e))
						return w.notFound()
					}
					w.pmdHit = true
					t.Record(sched.KindWalk, w.v.Describe(), w.site, fmt.Sprintf("looks at %s pmd %#x: %s", m.name, w.addr, e))
					return true
				}
				// The THP was split under us: handle it at PTE level.
				pmd.ptl.Unlock(t, w.site)
				w.pmdLock = false
			} else if e == nil {
				// PVMW_SYNC: take and drop the PMD lock, so that the walk
				// cannot end early while zap_huge_pmd has cleared the PMD but
				// not yet dropped the folio's mapcount.
				if w.sync && w.f.Nr() >= g.PTEs && w.v.thpSuitable(w.addr) {
					pmd.ptl.Lock(t, w.site)
					pmd.ptl.Unlock(t, w.site)
				}
				t.RecordF(sched.KindWalk, w.site, w.v.descOps(sched.Objf(vmaDescFmt)).Detailf("looks at %s %#x: no page table").S(m.name).N(w.addr))
				w.addr = g.pmdBase(w.addr) + g.PTEs // step_forward(PMD_SIZE)
				continue
			}
			switch w.mapPTE() {
			case mapNoTable:
				continue // the PMD changed: restart
			case mapMatch:
				if w.checkPTE() {
					return true
				}
			}
		}
		atPTE = false
		// next_pte: the next non-none PTE of the table, read without the
		// PTL unless the walk holds it.
		for {
			w.addr++
			if w.addr >= w.end {
				return w.notFound()
			}
			if w.addr%g.PTEs == 0 { // crossed into the next PTE table
				if w.locked {
					w.tbl.ptl.Unlock(t, w.site)
					w.locked = false
				}
				k.pteUnmap(t, w.site)
				w.tbl = nil
				break
			}
			w.i = g.pteIndex(w.addr)
			if !w.locked {
				t.PointF(sched.KindRead, w.site, sched.Objf("pte %s %#x").S(m.name).N(w.addr).Detail("ptep_get (lockless)"))
				k.useIn(t, &w.tbl.Obj, w.site, "ptep_get")
			}
			if p := w.tbl.e[w.i].Load(); p != nil {
				break
			}
			t.RecordF(sched.KindWalk, w.site, w.v.descOps(sched.Objf(vmaDescFmt)).Detailf("looks at %s %#x: none").S(m.name).N(w.addr))
		}
		if w.tbl == nil {
			continue // restart at the next table
		}
		if !w.locked {
			w.tbl.ptl.Lock(t, w.site)
			k.useIn(t, &w.tbl.Obj, w.site, "spin_lock of the PTL in the table's ptdesc")
			w.locked = true
			if m.pteTable(w.addr) != w.pmde {
				t.Record(sched.KindNote, w.tbl.name, w.site, fmt.Sprintf("!pmd_same: %s no longer maps %s %#x; restart", w.tbl.name, m.name, w.addr))
				w.tbl.ptl.Unlock(t, w.site)
				k.useIn(t, &w.tbl.Obj, w.site, "spin_unlock of the PTL in the detached table's ptdesc")
				w.locked = false
				k.pteUnmap(t, w.site)
				w.tbl = nil
				continue
			}
		}
		if w.checkPTE() {
			return true
		}
		atPTE = true
	}
}

// Results of mapPTE.
const (
	mapNoTable = iota // no table any more (pvmw->pte NULL): restart
	mapNoMatch        // mapped, the first PTE is no candidate: next_pte
	mapMatch          // mapped and locked: check_pte
)

// mapPTE is map_pte(): with PVMW_SYNC pte_offset_map_lock at once;
// otherwise map the table without the PTL, read the PTE, and only for a
// candidate (a present PTE, or a migration entry for PVMW_MIGRATION) take
// the PTL and re-check the PMD (pmd_same), mapping again if it changed.
func (w *pvmw) mapPTE() int {
	k, t, m := w.k, w.t, w.v.mm
	if w.sync {
		tbl, i := k.pteOffsetMapLock(t, m, w.addr, w.site)
		if tbl == nil {
			t.RecordF(sched.KindWalk, w.site, w.v.descOps(sched.Objf(vmaDescFmt)).Detailf("looks at %s %#x: no page table").S(m.name).N(w.addr))
			return mapNoTable
		}
		w.tbl, w.i, w.pmde, w.locked = tbl, i, tbl, true
		return mapMatch
	}
	for {
		tbl := k.pteOffsetMap(t, m, w.addr, w.site)
		if tbl == nil {
			t.RecordF(sched.KindWalk, w.site, w.v.descOps(sched.Objf(vmaDescFmt)).Detailf("looks at %s %#x: no page table").S(m.name).N(w.addr))
			return mapNoTable
		}
		w.tbl, w.i, w.pmde = tbl, k.Geo.pteIndex(w.addr), tbl
		t.PointF(sched.KindRead, w.site, sched.Objf("pte %s %#x").S(m.name).N(w.addr).Detail("map_pte: ptep_get (lockless)"))
		k.useIn(t, &tbl.Obj, w.site, "ptep_get")
		p := tbl.e[w.i].Load()
		if p == nil || (w.migration && p.Kind != PTEMigration) || (!w.migration && p.Kind != PTEPresent) {
			pt := pteTextOf(p)
			t.RecordF(sched.KindWalk, w.site, pt.ops(w.v.descOps(sched.Objf(vmaDescFmt)).Detailf(pteNotCandidate.of(pt)).S(m.name).N(w.addr)))
			return mapNoMatch
		}
		tbl.ptl.Lock(t, w.site)
		k.useIn(t, &tbl.Obj, w.site, "spin_lock of the PTL in the table's ptdesc")
		if m.pteTable(w.addr) == tbl || k.Variants.Has("pte_offset_map_lock-no-pmd-recheck") {
			w.locked = true
			return mapMatch
		}
		t.Record(sched.KindNote, tbl.name, w.site, fmt.Sprintf("!pmd_same: %s no longer maps %s %#x; map again", tbl.name, m.name, w.addr))
		tbl.ptl.Unlock(t, w.site)
		k.useIn(t, &tbl.Obj, w.site, "spin_unlock of the PTL in the detached table's ptdesc")
		k.pteUnmap(t, w.site)
		w.tbl = nil
	}
}

// checkPTE is check_pte(): the locked PTE maps a page of the folio (or is a
// migration entry for one, with PVMW_MIGRATION).
func (w *pvmw) checkPTE() bool {
	p := w.tbl.e[w.i].Load()
	pt := pteTextOf(p)
	w.t.RecordF(sched.KindWalk, w.site, pt.ops(w.v.descOps(sched.Objf(vmaDescFmt)).Detailf(pteLooksAtFmt.of(pt)).S(w.v.mm.name).N(w.addr)))
	if p == nil || p.PageFolio() != w.f {
		return false
	}
	if w.migration {
		return p.Kind == PTEMigration
	}
	return p.Kind == PTEPresent
}

// pte returns the matching PTE's table and index (PTL held).
func (w *pvmw) pte() (*PTETable, int) { return w.tbl, w.i }

// restart is page_vma_mapped_walk_restart() (v6.11+): drop the lock the
// walk holds at its match (the PMD lock of a PMD leaf, or the PTL) and
// forget the PMD, so that the next call looks again from the same address
// at what is there now: try_to_unmap_one splits a PMD-mapped THP under the
// walk's PMD lock and goes on over the PTEs the split installed.
func (w *pvmw) restart() {
	w.done()
	w.pmdHit = false
	w.slot = nil
}

// notFound is not_found() → page_vma_mapped_walk_done(): drop what the walk
// holds.
func (w *pvmw) notFound() bool {
	w.done()
	return false
}

// done is page_vma_mapped_walk_done(): unlock and unmap.
func (w *pvmw) done() {
	t := w.t
	if w.hp != nil {
		w.hp.unlock(t, w.site)
		w.hp = nil
		w.hpDone = true
	}
	if w.pmdLock {
		w.pmdTable().ptl.Unlock(t, w.site)
		w.pmdLock = false
	}
	if w.tbl != nil {
		if w.locked {
			w.tbl.ptl.Unlock(t, w.site)
			w.locked = false
		}
		w.k.pteUnmap(t, w.site)
		w.tbl = nil
	}
}
