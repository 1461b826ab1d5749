package kernelsim

import (
	"fmt"
	"sort"
)

// Corruptions lists the deliberate corruptions Corrupt applies. They exist
// for the invariants' -bad fixtures: each breaks exactly one rule of a
// quiescent kernel so that the checker guarding it must report.
var Corruptions = map[string]string{
	"drop-avc":             "take the AVC of the VMA at addr out of its anon_vma tree (rmap-complete)",
	"shift-pgoff":          "change vm_pgoff of the VMA at addr without moving its pages (rmap-complete)",
	"bump-mapcount":        "add one to the mapcount of the folio mapped at addr (mapcount-rss)",
	"bump-rss":             "add one to the mm's anon rss counter (mapcount-rss)",
	"overlap":              "extend the VMA at addr's tree key over its successor (vma-tree)",
	"bump-active-vmas":     "add one to num_active_vmas of the anon_vma of the VMA at addr (anon-vma-hierarchy)",
	"free-pte-table":       "free the live PTE table mapping addr (page-table-lifetime)",
	"scribble":             "change the contents of the folio mapped at addr behind the program's back (memory-contents)",
	"hold-anon-vma-ref":    "take an extra reference on the anon_vma of the VMA at addr, never dropped (leak)",
	"bump-entire-mapcount": "add one to the entire mapcount of the THP a PMD leaf maps at addr (mapcount-rss)",
	"pmd-pfn0":             "make the PMD entry covering addr point at the page at pfn 0 instead of its PTE table (page-table-lifetime)",
	"free-deposit":         "free the PTE table deposited with the PMD leaf at addr (page-table-lifetime)",
	"bump-pt-share":        "add one to the pt_share_count of the PMD table mapping addr (shared-pmd-lifetime)",
	"free-shared-pmd":      "free the PMD table mapping addr while mms still map it (shared-pmd-lifetime)",
	"bump-resv":            "add one to resv_huge_pages, as a reservation of the hugetlb VMA at addr consumed twice would (hugetlb-reservation)",
}

// CorruptionNames returns the corruption names in sorted order.
func CorruptionNames() []string {
	var out []string
	for n := range Corruptions {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Corrupt applies the named corruption at address addr of mm. The kernel must
// be quiescent (no run in progress).
func (k *Kernel) Corrupt(what, mm string, addr int) error {
	m := k.MM(mm)
	if m == nil {
		return fmt.Errorf("corrupt: no mm %s", mm)
	}
	v := m.findVMA(addr)
	p := m.Walk(addr)
	needVMA := func() error {
		if v == nil {
			return fmt.Errorf("corrupt %s: no VMA at %s %#x", what, mm, addr)
		}
		return nil
	}
	needFolio := func() error {
		if p == nil || p.Folio == nil {
			return fmt.Errorf("corrupt %s: no folio mapped at %s %#x", what, mm, addr)
		}
		return nil
	}
	switch what {
	case "drop-avc":
		if err := needVMA(); err != nil || len(v.chain) == 0 {
			return fmt.Errorf("corrupt drop-avc: no anon VMA at %s %#x", mm, addr)
		}
		// Drop the AVC through which the folio at addr is found, if any.
		i := len(v.chain) - 1
		if p != nil && p.Folio != nil && p.Folio.anon {
			for j, c := range v.chain {
				if c.av == p.Folio.anonVMA {
					i = j
				}
			}
		}
		c := v.chain[i]
		c.av.tree.Remove(c, nil)
		v.chain = append(v.chain[:i:i], v.chain[i+1:]...)
	case "shift-pgoff":
		if err := needVMA(); err != nil {
			return err
		}
		v.pgoff++
	case "bump-mapcount":
		if err := needFolio(); err != nil {
			return err
		}
		p.Folio.mapcount.Add(1)
	case "bump-rss":
		m.rssAnon.Add(1)
	case "overlap":
		if err := needVMA(); err != nil {
			return err
		}
		slots := *m.tree.Load()
		next := make([]vmaSlot, len(slots))
		copy(next, slots)
		for i := range next {
			if next[i].vma == v {
				next[i].end += k.Geo.Pages()
				v.end = next[i].end
			}
		}
		m.tree.Store(&next)
	case "bump-active-vmas":
		if err := needVMA(); err != nil || v.AnonVMA() == nil {
			return fmt.Errorf("corrupt bump-active-vmas: no anon_vma at %s %#x", mm, addr)
		}
		v.AnonVMA().numActiveVMAs++
	case "free-pte-table":
		tbl := m.pteTable(addr)
		if tbl == nil {
			return fmt.Errorf("corrupt free-pte-table: no table at %s %#x", mm, addr)
		}
		tbl.freed, tbl.freedBy = true, "corrupt free-pte-table"
	case "scribble":
		if err := needFolio(); err != nil {
			return err
		}
		p.Folio.page(p.Page).Add(1000)
	case "bump-entire-mapcount":
		if e := m.pmdEntry(addr); e == nil || e.Leaf == nil {
			return fmt.Errorf("corrupt bump-entire-mapcount: no PMD leaf at %s %#x", mm, addr)
		}
		m.pmdEntry(addr).Leaf.Folio.entire.Add(1)
	case "pmd-pfn0":
		slot := m.pmdSlot(addr)
		if slot == nil || slot.Load() == nil || slot.Load().Table == nil {
			return fmt.Errorf("corrupt pmd-pfn0: no PTE table at %s %#x", mm, addr)
		}
		slot.Store(&PMDEntry{Table: k.pfn0Table()})
	case "free-deposit":
		pmd := m.pmdOffset(addr)
		if pmd == nil || len(pmd.deposits) == 0 {
			return fmt.Errorf("corrupt free-deposit: no deposited table in the PMD table of %s %#x", mm, addr)
		}
		tbl := pmd.deposits[len(pmd.deposits)-1]
		tbl.freed, tbl.freedBy = true, "corrupt free-deposit"
	case "bump-resv":
		if v == nil || v.file == nil || !v.file.hugetlb {
			return fmt.Errorf("corrupt %s: no hugetlb VMA at %s %#x", what, mm, addr)
		}
		k.hpool.resv++
		return nil
	case "bump-pt-share", "free-shared-pmd":
		pmd := m.pmdOffset(addr)
		if pmd == nil {
			return fmt.Errorf("corrupt %s: no PMD table at %s %#x", what, mm, addr)
		}
		if what == "bump-pt-share" {
			pmd.share.Add(1)
		} else {
			pmd.freed, pmd.freedBy = true, "corrupt free-shared-pmd"
		}
	case "hold-anon-vma-ref":
		if err := needVMA(); err != nil || v.AnonVMA() == nil {
			return fmt.Errorf("corrupt hold-anon-vma-ref: no anon_vma at %s %#x", mm, addr)
		}
		v.AnonVMA().root.refcount.Add(1)
	default:
		return fmt.Errorf("corrupt: unknown corruption %q (known: %v)", what, CorruptionNames())
	}
	return nil
}
