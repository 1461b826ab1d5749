// Package invariants holds the checkers: pure, read-only functions over the
// state of a kernelsim.Kernel that return typed violations. Names are stable
// kebab-case identifiers used in corpus expectations.
//
// Quiescent checks run when every task has finished: rmap-complete,
// mapcount-rss, vma-tree, anon-vma-hierarchy, page-table-lifetime and
// pte-prot-within-vma.
// MemoryContents replays the memory log against the program's semantics.
// Leaks runs after exit_mmap of every mm.
package invariants

import (
	"fmt"

	"mmrace/kernelsim"
	"mmrace/kernelsim/invnames"
	"mmrace/kernelsim/sched"
)

func violation(name, format string, args ...any) sched.Violation {
	return sched.Violation{Invariant: name, Task: -1, Step: -1, Detail: fmt.Sprintf(format, args...)}
}

// Quiescent runs every quiescent checker and returns their violations, the
// most specific first.
func Quiescent(k *kernelsim.Kernel) []sched.Violation {
	var out []sched.Violation
	for _, c := range []func(*kernelsim.Kernel) []sched.Violation{
		PageTableLifetime, SharedPMDs, VMATree, AnonVMAHierarchy, RmapComplete, MapcountRSS, PTEProtWithinVMA, HugetlbReservations,
	} {
		out = append(out, c(k)...)
	}
	return out
}

// RmapComplete is invariant I1 at a quiescent point: every present or
// migration entry mapping a page of folio F at address A of a VMA V — a PTE
// mapping one page, a PMD leaf mapping all of F from its first — is
// reachable from F's rmap root (V has an AVC in F's anon_vma tree, or V is
// in F's file's i_mmap), and vma_address of that page in V is A.
func RmapComplete(k *kernelsim.Kernel) []sched.Violation {
	var out []sched.Violation
	for _, m := range k.MMs() {
		if m.Exited() {
			continue
		}
		m.ForEachPTE(func(addr int, _ *kernelsim.PTETable, p *kernelsim.PTE) {
			f := p.PageFolio()
			if f == nil || p.Kind == kernelsim.PTESwap {
				return // the zero page has no rmap; rmap does not look for swap entries
			}
			idx := f.Index() // the page's index: the folio's first page, plus the page
			if f == p.Folio {
				idx += p.Page
			}
			v := findVMA(m, addr)
			if v == nil {
				out = append(out, violation(invnames.RmapComplete, "%s %#x maps %s (%s) but no VMA covers the address", m.Name(), addr, f.Name(), p))
				return
			}
			where, ok := v.Address(idx)
			if !ok || where != addr {
				out = append(out, violation(invnames.RmapComplete, "%s %#x maps %s (index %#x) in %s, where vma_address finds it at %#x", m.Name(), addr, p, idx, v.Describe(), where))
				return
			}
			if p.Huge && v.End() < addr+f.Nr() {
				out = append(out, violation(invnames.RmapComplete, "%s %#x maps %s with a PMD leaf, but %s does not cover the leaf's %d pages", m.Name(), addr, p, v.Describe(), f.Nr()))
				return
			}
			if f.Anon() {
				av := f.AnonVMA()
				if av == nil {
					out = append(out, violation(invnames.RmapComplete, "%s %#x maps anon %s which has no anon_vma", m.Name(), addr, f.Name()))
					return
				}
				for _, avc := range av.Tree().Items() {
					if avc.VMA() == v {
						return
					}
				}
				out = append(out, violation(invnames.RmapComplete, "%s %#x maps %s, but %s has no AVC for %s: rmap_walk_anon from the folio misses this mapping", m.Name(), addr, f.Name(), av.Name(), v.Describe()))
				return
			}
			if !f.File().Tree().Contains(v) {
				out = append(out, violation(invnames.RmapComplete, "%s %#x maps %s of %s, but %s is not in its i_mmap", m.Name(), addr, f.Name(), f.File().Name(), v.Describe()))
				return
			}
			if c := f.File().CachedFolio(idx); c != f {
				// folio->mapping and ->index name a page-cache slot that holds
				// another folio: the mapping is of an orphan, which no lookup of
				// the file finds (two folios were added for one index).
				held := "nothing"
				if c != nil {
					held = c.Name()
				}
				out = append(out, violation(invnames.RmapComplete, "%s %#x maps %s as %s page %#x, but the page cache holds %s there: an orphaned page-cache folio", m.Name(), addr, f.Name(), f.File().Name(), idx, held))
			}
		})
	}
	return out
}

// HugetlbReservations is hugetlb-reservation at a quiescent point:
// resv_huge_pages counts the reserved huge pages not yet in the page
// cache, and a finite pool's free_huge_pages its unused pages
// (kernelsim/hugetlbpool.go).
func HugetlbReservations(k *kernelsim.Kernel) []sched.Violation {
	if msg := k.CheckHugetlbReservations(); msg != "" {
		return []sched.Violation{violation(invnames.HugetlbReservation, "%s", msg)}
	}
	return nil
}

// SharedPMDs is shared-pmd-lifetime at a quiescent point: every PMD
// table a live mm's PUD points at is alive, and its pt_share_count is the
// number of PUD entries pointing at it less one (huge_pmd_share raised it
// once for each extra sharer, huge_pmd_unshare dropped it once for each
// that left): a count too high leaks the table, too low lets a sharer free
// it under the others.
func SharedPMDs(k *kernelsim.Kernel) []sched.Violation {
	var out []sched.Violation
	refs := map[*kernelsim.PMDTable]int{}
	var order []*kernelsim.PMDTable
	type at struct {
		mm   *kernelsim.MM
		base int
	}
	first := map[*kernelsim.PMDTable]at{} // where each table is mapped first, made into text only for a violation
	for _, m := range k.MMs() {
		if m.Exited() {
			continue
		}
		m.ForEachTable(func(base int, pmd *kernelsim.PMDTable, e *kernelsim.PMDEntry) {
			if e != nil {
				return
			}
			if refs[pmd] == 0 {
				order = append(order, pmd)
				first[pmd] = at{m, base}
			}
			refs[pmd]++
		})
	}
	where := func(pmd *kernelsim.PMDTable) string {
		return fmt.Sprintf("%s %#x", first[pmd].mm.Name(), first[pmd].base)
	}
	for _, pmd := range order {
		if pmd.Freed() {
			out = append(out, violation(invnames.SharedPMDLifetime, "%s (mapped at %s by %d mm(s)) is freed: %s", pmd.Name(), where(pmd), refs[pmd], pmd.FreedAt()))
			continue
		}
		if n := pmd.ShareCount(); n != refs[pmd]-1 {
			out = append(out, violation(invnames.SharedPMDLifetime, "%s has pt_share_count %d, but %d mm(s) map it (first at %s)", pmd.Name(), n, refs[pmd], where(pmd)))
		}
	}
	return out
}

// PTEProtWithinVMA is pte-prot-within-vma at a quiescent point: no entry
// allows more than its VMA's vm_flags: no present or migration entry is
// writable in a VMA without VM_WRITE (remove_migration_pte would restore a
// writable migration entry writable), and no present entry is readable in
// a PROT_NONE VMA. (mprotect checks it for its VMA when change_protection
// ends; this catches an entry made from flags read before they changed.)
func PTEProtWithinVMA(k *kernelsim.Kernel) []sched.Violation {
	var out []sched.Violation
	for _, m := range k.MMs() {
		if m.Exited() {
			continue
		}
		m.ForEachPTE(func(addr int, _ *kernelsim.PTETable, p *kernelsim.PTE) {
			if p.Kind == kernelsim.PTESwap {
				return
			}
			v := findVMA(m, addr)
			if v == nil {
				return // rmap-complete reports an entry outside every VMA
			}
			fl := v.Flags()
			if (p.Write && fl&kernelsim.VMWrite == 0) || (p.Kind == kernelsim.PTEPresent && p.Read && fl&(kernelsim.VMRead|kernelsim.VMWrite) == 0) {
				out = append(out, violation("pte-prot-within-vma", "%s %#x is %s in %s (%s): more permissive than the VMA", m.Name(), addr, p, v.Describe(), fl))
			}
		})
	}
	return out
}

// MapcountRSS is invariant I3: each folio's mapcount equals the present
// entries mapping it (a PTE mapping one of its pages and a PMD leaf mapping
// all of them count one each), its entire mapcount the PMD leaves among
// them, its swap count the swap entries naming it, and each mm's rss
// counters equal the pages its page tables map (a PMD leaf maps all its
// folio's pages; migration entries count in rss) and its swap entries
// ("Bad page map" / "Bad rss-counter state").
func MapcountRSS(k *kernelsim.Kernel) []sched.Violation {
	var out []sched.Violation
	count := map[*kernelsim.Folio]int{}
	entire := map[*kernelsim.Folio]int{}
	swapped := map[*kernelsim.Folio]int{}
	hugetlbSeen := map[uint64]bool{} // leaves of shared PMD tables, counted once
	for _, m := range k.MMs() {
		anon, file, swap := 0, 0, 0
		m.ForEachPTE(func(addr int, _ *kernelsim.PTETable, p *kernelsim.PTE) {
			f := p.PageFolio()
			if f == nil {
				return
			}
			if f.Hugetlb() {
				// hugetlb_add_file_rmap: one mapcount and one entire
				// mapcount per leaf; hugetlb_count_add, not rss.
				if p.Kind == kernelsim.PTEPresent && !hugetlbSeen[p.ID] {
					hugetlbSeen[p.ID] = true
					count[f]++
					entire[f]++
				}
				return
			}
			if p.Kind == kernelsim.PTESwap {
				swap++
				swapped[p.Folio]++
				return
			}
			if p.Kind == kernelsim.PTEPresent {
				count[f]++ // mapcount counts present entries; rss counts migration entries too
				if p.Huge {
					entire[f]++
				}
			}
			pages := 1
			if p.Huge {
				pages = f.Nr()
			}
			if f.Anon() {
				anon += pages
			} else {
				file += pages
			}
		})
		if ra, rf := m.RSS(); ra != anon || rf != file || m.SwapEnts() != swap {
			out = append(out, violation(invnames.MapcountRSS, "Bad rss-counter state: %s rss anon %d file %d swap %d, page tables map anon %d file %d swap %d", m.Name(), ra, rf, m.SwapEnts(), anon, file, swap))
		}
	}
	for _, f := range k.Folios() {
		if f.Freed() {
			if count[f]+swapped[f] > 0 {
				out = append(out, violation(invnames.UseAfterFree, "%s is mapped %d times but %s", f.Name(), count[f], f.FreedAt()))
			}
			continue
		}
		if f.Mapcount() != count[f] {
			out = append(out, violation(invnames.MapcountRSS, "Bad page map: %s mapcount %d, page tables map it %d times", f.Name(), f.Mapcount(), count[f]))
		}
		if f.EntireMapcount() != entire[f] {
			out = append(out, violation(invnames.MapcountRSS, "Bad page map: %s entire mapcount %d, %d PMD leaves map it", f.Name(), f.EntireMapcount(), entire[f]))
		}
		if f.Swapped() != swapped[f] {
			out = append(out, violation(invnames.MapcountRSS, "Bad swap count: %s has swap count %d, page tables hold %d swap entries for it", f.Name(), f.Swapped(), swapped[f]))
		}
	}
	return out
}

// VMATree checks each mm's VMA tree: sorted, non-overlapping, non-empty
// ranges whose keys equal the VMAs' fields; every VMA alive, attached and of
// that mm; map_count right; file VMAs in their i_mmap and every AVC in its
// anon_vma's tree with the VMA's current key.
func VMATree(k *kernelsim.Kernel) []sched.Violation {
	var out []sched.Violation
	for _, m := range k.MMs() {
		if m.Exited() {
			continue
		}
		keys := m.TreeKeys()
		vmas := m.VMAs()
		if m.MapCount() != len(vmas) {
			out = append(out, violation(invnames.VMATree, "%s map_count %d but %d VMAs in the tree", m.Name(), m.MapCount(), len(vmas)))
		}
		for i, v := range vmas {
			key := keys[i]
			switch {
			case v.Freed():
				out = append(out, violation(invnames.VMATree, "%s tree holds %s, %s", m.Name(), v.Name(), v.FreedAt()))
				continue
			case v.MM() != m:
				out = append(out, violation(invnames.VMATree, "%s tree holds %s of %s", m.Name(), v.Name(), v.MM().Name()))
			case key[0] != v.Start() || key[1] != v.End():
				out = append(out, violation(invnames.VMATree, "%s tree key [%#x,%#x) for %s", m.Name(), key[0], key[1], v.Describe()))
			case v.Start() >= v.End():
				out = append(out, violation(invnames.VMATree, "%s empty or inverted %s", m.Name(), v.Describe()))
			case i > 0 && vmas[i-1].End() > v.Start():
				out = append(out, violation(invnames.VMATree, "%s: %s overlaps %s", m.Name(), vmas[i-1].Describe(), v.Describe()))
			case !v.Lock().IsAttached():
				out = append(out, violation(invnames.VMATree, "%s tree holds detached %s", m.Name(), v.Describe()))
			}
			last := v.Pgoff() + v.Pages() - 1
			if f := v.File(); f != nil {
				if s, l, ok := f.Tree().Key(v); !ok || s != v.Pgoff() || l != last {
					out = append(out, violation(invnames.VMATree, "%s of %s: i_mmap key [%#x,%#x] present=%v, want [%#x,%#x]", v.Describe(), m.Name(), s, l, ok, v.Pgoff(), last))
				}
			}
			for _, avc := range v.Chain() {
				if s, l, ok := avc.AnonVMA().Tree().Key(avc); !ok || s != v.Pgoff() || l != last {
					out = append(out, violation(invnames.VMATree, "%s of %s: %s key in %s [%#x,%#x] present=%v, want [%#x,%#x]", v.Describe(), m.Name(), avc.Name(), avc.AnonVMA().Name(), s, l, ok, v.Pgoff(), last))
				}
			}
		}
	}
	for _, a := range k.AnonVMAs() {
		if err := a.Tree().Verify(); !a.Freed() && err != nil {
			out = append(out, violation(invnames.VMATree, "%s's interval tree is broken: %v", a.Name(), err))
		}
	}
	for _, f := range k.Files() {
		if err := f.Tree().Verify(); err != nil {
			out = append(out, violation(invnames.VMATree, "%s's i_mmap tree is broken: %v", f.Name(), err))
		}
		for _, v := range f.Tree().Items() {
			if v.Freed() || v.MM().Exited() || findVMA(v.MM(), v.Start()) != v {
				out = append(out, violation(invnames.VMATree, "%s i_mmap holds %s, which is not in %s's tree", f.Name(), v.Describe(), v.MM().Name()))
			}
		}
	}
	return out
}

// AnonVMAHierarchy is invariant I8: a VMA with an anon_vma has an AVC for it
// and for each of its ancestors, all under one root; num_active_vmas and
// num_children match; every anon_vma a mapped folio points to is alive.
func AnonVMAHierarchy(k *kernelsim.Kernel) []sched.Violation {
	var out []sched.Violation
	active := map[*kernelsim.AnonVMA]int{}
	children := map[*kernelsim.AnonVMA]int{}
	for _, m := range k.MMs() {
		if m.Exited() {
			continue
		}
		for _, v := range m.VMAs() {
			av := v.AnonVMA()
			if av == nil {
				if len(v.Chain()) > 0 {
					out = append(out, violation(invnames.AnonVMAHierarchy, "%s of %s has AVCs but no anon_vma", v.Describe(), m.Name()))
				}
				continue
			}
			active[av]++
			has := map[*kernelsim.AnonVMA]bool{}
			for _, avc := range v.Chain() {
				if avc.VMA() != v {
					out = append(out, violation(invnames.AnonVMAHierarchy, "%s in the chain of %s points to %s", avc.Name(), v.Name(), avc.VMA().Name()))
				}
				if avc.AnonVMA().Root() != av.Root() {
					out = append(out, violation(invnames.AnonVMAHierarchy, "%s of %s links %s with root %s, its anon_vma %s has root %s", avc.Name(), v.Name(), avc.AnonVMA().Name(), avc.AnonVMA().Root().Name(), av.Name(), av.Root().Name()))
				}
				has[avc.AnonVMA()] = true
			}
			for a := av; a != nil; a = a.Parent() {
				if a.Freed() {
					out = append(out, violation(invnames.UseAfterFree, "%s of %s uses anon_vma %s, %s", v.Describe(), m.Name(), a.Name(), a.FreedAt()))
				} else if !has[a] {
					out = append(out, violation(invnames.AnonVMAHierarchy, "%s of %s has no AVC for its anon_vma ancestor %s", v.Describe(), m.Name(), a.Name()))
				}
			}
		}
	}
	for _, a := range k.AnonVMAs() {
		if !a.Freed() && a.Parent() != nil {
			children[a.Parent()]++
		}
	}
	for _, a := range k.AnonVMAs() {
		if a.Freed() {
			continue
		}
		if a.NumActiveVMAs() != active[a] {
			out = append(out, violation(invnames.AnonVMAHierarchy, "%s num_active_vmas %d, %d VMAs use it", a.Name(), a.NumActiveVMAs(), active[a]))
		}
		if a.NumChildren() != children[a] {
			out = append(out, violation(invnames.AnonVMAHierarchy, "%s num_children %d, %d children", a.Name(), a.NumChildren(), children[a]))
		}
	}
	for _, f := range k.Folios() {
		if f.Freed() || !f.Anon() || f.Mapcount() == 0 {
			continue
		}
		if f.AnonVMA() == nil {
			// __folio_set_anon's BUG_ON(!anon_vma): the fault reported it
			// already (a kernel-oops); a mutant may get here without it.
			out = append(out, violation(invnames.AnonVMAHierarchy, "mapped anon %s has no anon_vma (folio->mapping is NULL)", f.Name()))
		} else if f.AnonVMA().Freed() {
			out = append(out, violation(invnames.UseAfterFree, "mapped %s points to freed anon_vma %s", f.Name(), f.AnonVMA().Name()))
		}
	}
	return out
}

// PageTableLifetime is invariant I4 at rest: every PMD table reachable
// from a live mm is alive, and each of its entries points at a live PTE
// table (never at a freed one, nor at pfn 0) or is a leaf; its list of
// deposited tables holds one live table per anon THP leaf
// (kernelsim.CheckDeposits); every entry points at a live folio. (That a table is
// empty when freed, and that no PTE is written into a detached table, are
// checked when it happens.)
func PageTableLifetime(k *kernelsim.Kernel) []sched.Violation {
	var out []sched.Violation
	for _, m := range k.MMs() {
		m.ForEachTable(func(base int, pmd *kernelsim.PMDTable, e *kernelsim.PMDEntry) {
			switch {
			case e == nil:
				if pmd.Freed() {
					out = append(out, violation(invnames.PageTableLifetime, "%s pud entry for %#x points to %s, %s", m.Name(), base, pmd.Name(), pmd.FreedAt()))
				}
			case e.Table != nil && e.Table.Freed():
				out = append(out, violation(invnames.PageTableLifetime, "%s pmd entry for %#x points to %s, %s", m.Name(), base, e.Table.Name(), e.Table.FreedAt()))
			}
		})
		m.ForEachPTE(func(addr int, _ *kernelsim.PTETable, p *kernelsim.PTE) {
			if f := p.PageFolio(); f != nil && f.Freed() {
				out = append(out, violation(invnames.UseAfterFree, "%s %#x maps %s, %s", m.Name(), addr, f.Name(), f.FreedAt()))
			}
		})
	}
	for _, msg := range k.CheckDeposits() {
		out = append(out, violation(invnames.PageTableLifetime, "%s", msg))
	}
	return out
}

// Leaks runs after exit_mmap of every mm: every anon folio, page table and
// anon_vma must have been freed, and page-cache folios must be unmapped.
func Leaks(k *kernelsim.Kernel) []sched.Violation {
	var out []sched.Violation
	for _, f := range k.Folios() {
		switch {
		case f.Anon() && !f.Freed():
			out = append(out, violation(invnames.Leak, "anon folio %s (mapcount %d) survives exit of every mm", f.Name(), f.Mapcount()))
		case !f.Anon() && f.Mapcount() != 0:
			out = append(out, violation(invnames.Leak, "page-cache folio %s still has mapcount %d after exit", f.Name(), f.Mapcount()))
		}
	}
	for _, t := range k.PTETables() {
		if !t.Freed() {
			out = append(out, violation(invnames.Leak, "page table %s survives exit of every mm", t.Name()))
		}
	}
	for _, t := range k.PMDTables() {
		if !t.Freed() {
			out = append(out, violation(invnames.Leak, "PMD table %s survives exit of every mm", t.Name()))
		}
	}
	for _, a := range k.AnonVMAs() {
		if !a.Freed() {
			out = append(out, violation(invnames.Leak, "anon_vma %s (refcount %d) survives exit of every mm", a.Name(), a.Refcount()))
		}
	}
	return out
}

func findVMA(m *kernelsim.MM, addr int) *kernelsim.VMA {
	for _, v := range m.VMAs() {
		if v.Start() <= addr && addr < v.End() {
			return v
		}
	}
	return nil
}
