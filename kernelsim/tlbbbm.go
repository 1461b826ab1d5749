package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Break-before-make. Where the kernel replaces a present PTE by one of
// another page (wp_page_copy's COW: ptep_clear_flush, then set_pte_at of
// the copy), it flushes the old translation before it sets the new PTE,
// under the PTL: no CPU can walk to the new page while another still
// reaches the old one through its TLB. Without it two CPUs see different
// pages at one address at once: a store through the new PTE is invisible
// to a load through the stale translation made after it (and a store
// through a stale writable one is lost), though one completed before the
// other began. The memory log cannot show that: it places an access
// through a stale translation whose flush is owed before the reduction
// (tlbrace.go), which is right for a zap, whose fresh page the kernel
// lets a fault map before the flush, and wrong here.
//
// So such a reduction is marked (tlbPendingBreakBeforeMake); the first
// store by another task through the new PTE while the flush is still owed
// is noted (noteFreshWalkLocked: its walk fills a writable translation);
// and, after it, a load by a third task through a stale translation that
// returns what the address no longer holds, or a store through one (lost
// to the old page), breaks tlb-coherence (breakBeforeMakeBroken). Two
// loads of the same value through the two pages are no observable
// difference and pass. In the faithful kernel the flush comes before the
// new PTE, so no walk can find it while the debt lasts.

// tlbPendingBreakBeforeMake marks t's latest debt of m's page addr as a
// break-before-make one: t sets a new PTE of another page at addr before
// it returns, which no CPU may walk to before the flush.
func (k *Kernel) tlbPendingBreakBeforeMake(t *sched.Task, m *MM, addr int) {
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	ps := k.tlb.pending[t.ID()]
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].mm == m && ps[i].start == addr && ps[i].end == addr+1 {
			ps[i].bbm = true
			return
		}
	}
}

// noteFreshWalkLocked records, on every break-before-make debt of m's page
// addr that another task owes, the first walk by t for a store (write)
// that filled a translation of it (to f): one through the new PTE. The
// caller holds k.tlb.mu.
func (k *Kernel) noteFreshWalkLocked(t *sched.Task, m *MM, addr int, f *Folio, write bool, verb string) {
	if !write {
		return
	}
	for i := range k.tlb.pending {
		if i == t.ID() {
			continue
		}
		for j := range k.tlb.pending[i] {
			p := &k.tlb.pending[i][j]
			if p.bbm && p.fresh == "" && p.mm == m && p.start <= addr && addr < p.end {
				target := "the zero page"
				if f != nil {
					target = f.name
				}
				p.fresh, p.freshTask = fmt.Sprintf("%s's %s at step %d walked the new PTE to %s", t.Name(), verb, t.Step(), target), t.ID()
			}
		}
	}
}

// breakBeforeMakeBroken describes how t's access to m's page addr through
// its cached translation e breaks break-before-make, or returns "": e is
// stale, the debt of the reduction that made it so is a break-before-make
// one still owed by another task, a fourth party (neither t nor the
// debtor) has stored through the new PTE since, and the access is a store
// (lost to the old page) or a load of a value the new page does not hold.
func (k *Kernel) breakBeforeMakeBroken(t *sched.Task, m *MM, addr int, e tlbEntry, write bool, verb string) string {
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	// Every TLB hit comes here: the walk only when a debt could be
	// broken (in the faithful kernel none ever is).
	debtor, p := k.brokenBBMDebtLocked(t, m, addr)
	if p == nil || e.folio == nil {
		return ""
	}
	now := m.Walk(addr)
	if !e.staleAgainst(now) {
		return ""
	}
	if !write {
		if now == nil || now.Kind != PTEPresent || now.Folio == nil {
			return ""
		}
		ef, epg := e.folio.pageFolio(e.page)
		nf, npg := now.Folio.pageFolio(now.Page)
		old, cur := ef.page(epg).Load(), nf.page(npg).Load()
		if old == cur {
			return ""
		}
		verb = fmt.Sprintf("%s (-> %d, where %s now holds %d)", verb, old, nf.name, cur)
	}
	return fmt.Sprintf("%s at %s %#x goes through %s's TLB entry to %s (%s), after %s: %s set the new PTE before flushing the old translation (break-before-make), so two CPUs reach different pages at one address", verb, m.name, addr, t.Name(), tlbTarget(e), k.cachedAt(e), p.fresh, sched.TaskName(debtor))
}

// brokenBBMDebtLocked returns a break-before-make debt of m's page addr
// that a task other than t owes and through whose new PTE a task other
// than t has stored, with its debtor, or nil. The caller holds k.tlb.mu.
func (k *Kernel) brokenBBMDebtLocked(t *sched.Task, m *MM, addr int) (int, *flushRange) {
	for i := range k.tlb.pending {
		if i == t.ID() {
			continue
		}
		for j := range k.tlb.pending[i] {
			if p := &k.tlb.pending[i][j]; p.bbm && p.fresh != "" && p.freshTask != t.ID() && p.mm == m && p.start <= addr && addr < p.end {
				return i, p
			}
		}
	}
	return -1, nil
}
