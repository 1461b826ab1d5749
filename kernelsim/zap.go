package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// zapPTERange mirrors unmap_vmas() → zap_pte_range() for [start, end) of v:
// per PTE table, under its PTL, clear every entry, remove the rmap and rss,
// and free anon folios whose last mapping went away. (The kernel batches the
// frees behind a TLB flush; without a TLB model they are immediate.)
//
// With fresh set (MADV_DONTNEED), each cleared page is logged as fresh
// memory at the step its entry is cleared: the next fault maps a new page.
func (k *Kernel) zapPTERange(t *sched.Task, v *VMA, start, end int, site string, fresh ...bool) {
	m := v.mm
	g := k.Geo
	for a := start; a < end; {
		tblEnd := g.tableEnd(a, end)
		if m.pteTable(a) == nil {
			a = tblEnd
			continue
		}
		tbl, _ := k.pteOffsetMapLock(t, m, a, site)
		if tbl == nil {
			a = tblEnd
			continue
		}
		for addr := a; addr < tblEnd; addr++ {
			i := g.pteIndex(addr)
			p := tbl.e[i].Load()
			if p == nil {
				continue
			}
			k.setPTE(t, m, tbl, i, addr, nil, site)
			if len(fresh) > 0 && fresh[0] {
				k.logMem(t, MemEvent{Kind: MemZero, MM: m.name, Addr: addr, Len: 1})
			}
			k.zapRmap(t, m, p, site)
		}
		tbl.ptl.Unlock(t, site)
		a = tblEnd
	}
}

// zapRmap undoes the rmap and rss accounting of a cleared entry.
func (k *Kernel) zapRmap(t *sched.Task, m *MM, p *PTE, site string) {
	f := p.Folio
	if f == nil {
		return // the zero page
	}
	if p.Kind == PTESwap {
		// zap_nonpresent_ptes → free_swap_and_cache.
		m.rssSwap.Add(-1)
		k.swapFree(t, f, false, site)
		return
	}
	if p.Kind == PTEMigration {
		// zap_nonpresent_ptes: a migration entry still counts in rss; its
		// rmap was removed when it was installed.
		if f.anon {
			m.rssAnon.Add(-1)
		} else {
			m.rssFile.Add(-1)
		}
		return
	}
	k.use(t, &f.Obj, site)
	if f.anon {
		m.rssAnon.Add(-1)
	} else {
		m.rssFile.Add(-1)
	}
	k.dropMapping(t, f, site)
}

// freePgtables mirrors free_pgtables(): first each VMA leaves the rmap trees
// (unlink_anon_vmas, unlink_file_vma) — until here rmap walkers can still
// find the zapped VMAs — then free_pgd_range frees the page tables that lie
// wholly inside [floor, ceiling), the gap the VMAs leave between their
// neighbours.
func (k *Kernel) freePgtables(t *sched.Task, m *MM, vs []*VMA, floor, ceiling int, site string) {
	for _, v := range vs {
		k.unlinkAnonVMAs(t, v, site)
		k.unlinkFileVMA(t, v, site)
	}
	if len(vs) == 0 {
		return
	}
	k.freePgdRange(t, m, vs[0].start, vs[len(vs)-1].end, floor, ceiling, site)
}

// freePgdRange frees the PTE tables (and then PMD tables) covering
// [start, end) that lie wholly within [floor, ceiling). Clearing an entry
// that points to a table is safe here because no walker can reach it: the
// VMAs are gone from the tree and the rmap trees, and the hardware walker is
// kept off by RCU (the tables are freed after a grace period, as
// tlb_remove_table does).
func (k *Kernel) freePgdRange(t *sched.Task, m *MM, start, end, floor, ceiling int, site string) {
	g := k.Geo
	rcu := k.Env.RCU()
	span := g.PTEs
	for base := start / span * span; base < end; base += span {
		if base < floor || base+span > ceiling {
			continue
		}
		pmd := m.pmdOffset(base)
		if pmd == nil {
			continue
		}
		slot := &pmd.e[g.pmdIndex(base)]
		tbl := slot.Load()
		if tbl == nil {
			continue
		}
		k.checkEmptyOnFree(t, m, tbl, base, site)
		t.Point(sched.KindWrite, pmd.name, site, fmt.Sprintf("pmd_clear %#x: free %s", base, tbl.name))
		slot.Store(nil)
		rcu.CallRCU(t, "free "+tbl.name, func() { k.free(t, &tbl.Obj, "pte_free_tlb") })
	}
	pspan := g.PTEs * g.PMDs
	for base := start / pspan * pspan; base < end; base += pspan {
		if base < floor || base+pspan > ceiling {
			continue
		}
		slot := &m.pud[g.pudIndex(base)]
		pmd := slot.Load()
		if pmd == nil {
			continue
		}
		for i := range pmd.e {
			if pmd.e[i].Load() != nil {
				t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s: frees %s whose entry %d still points to a table", site, pmd.name, i)})
			}
		}
		// free_pmd_range clears the PUD entry without a lock: no walker can
		// reach it (see above).
		t.Point(sched.KindWrite, m.name+" pud", site, fmt.Sprintf("pud_clear %#x: free %s", base, pmd.name))
		slot.Store(nil)
		rcu.CallRCU(t, "free "+pmd.name, func() { k.free(t, &pmd.Obj, "pmd_free_tlb") })
	}
}

// checkEmptyOnFree is the page-table lifetime rule: a table is freed only
// when every entry is none.
func (k *Kernel) checkEmptyOnFree(t *sched.Task, m *MM, tbl *PTETable, base int, site string) {
	k.checked("page-table-lifetime")
	for i := range tbl.e {
		if p := tbl.e[i].Load(); p != nil {
			t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s: frees %s (%s %#x) with a live entry at %#x: %s", site, tbl.name, m.name, base, base+i, p)})
		}
	}
}
