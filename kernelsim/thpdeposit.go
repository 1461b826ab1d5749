package kernelsim

import (
	"fmt"
	"slices"

	"mmrace/kernelsim/sched"
)

// The deposited page tables of a PMD table (pgtable_trans_huge_deposit,
// pgtable_trans_huge_withdraw; mm/pgtable-generic.c, v6.17).
//
// A PMD-mapped anon THP keeps a preallocated PTE table for the day it is
// split (or zapped: zap_deposited_table frees it). The kernel does not keep
// it with the leaf: it lists it in the PMD table's page
// (pmd_huge_pte(mm, pmdp), with split PMD locks the ptdesc of the PMD
// table), and a withdraw takes whichever table is first on the list. The
// list is protected by the PMD lock only, and every THP leaf of the PMD
// table (2 MiB each, up to 512 of them) shares it: a deposit by a fault or
// a collapse and a withdraw by a split or a zap of another THP of the same
// table meet there. Each is a read of the list head then a write of it, a
// step each here: without the PMD lock one of two concurrent updates is
// lost, and a later withdraw finds the list empty (a NULL table: the
// kernel's oops) or two splits withdraw the same table.
//
// At a quiescent point each PMD table lists exactly as many live tables as
// it has anon THP leaves and PMD migration entries of anon THPs
// (CheckDeposits), and it is freed with an empty list.

// depositTable is pgtable_trans_huge_deposit(mm, pmd, tbl): tbl joins the
// PMD table's list. The caller holds pmd's lock.
func (k *Kernel) depositTable(t *sched.Task, pmd *PMDTable, tbl *PTETable) {
	const site = "pgtable_trans_huge_deposit"
	t.Point(sched.KindRead, pmd.name+" pmd_huge_pte", site, "list head")
	k.use(t, &pmd.Obj, site)
	old := pmd.deposits
	t.Point(sched.KindWrite, pmd.name+" pmd_huge_pte", site, "list_add "+tbl.name)
	pmd.deposits = append(slices.Clip(old), tbl)
}

// withdrawTable is pgtable_trans_huge_withdraw(mm, pmd): the first table
// of the PMD table's list leaves it. The caller holds pmd's lock. An empty
// list (a deposit lost to a concurrent update) is the kernel's NULL table.
func (k *Kernel) withdrawTable(t *sched.Task, pmd *PMDTable, site string) *PTETable {
	t.Point(sched.KindRead, pmd.name+" pmd_huge_pte", "pgtable_trans_huge_withdraw", "list head")
	k.use(t, &pmd.Obj, site)
	old := pmd.deposits
	if len(old) == 0 {
		t.Fail(sched.Violation{Invariant: "kernel-oops", Detail: fmt.Sprintf("%s: pgtable_trans_huge_withdraw finds %s's deposit list (pmd_huge_pte) empty: a deposit was lost to a concurrent update of the list, and the NULL table is used", site, pmd.name)})
	}
	tbl := old[len(old)-1]
	t.Point(sched.KindWrite, pmd.name+" pmd_huge_pte", "pgtable_trans_huge_withdraw", "list_del "+tbl.name)
	pmd.deposits = slices.Clip(old[:len(old)-1])
	k.use(t, &tbl.Obj, site)
	return tbl
}

// CheckDeposits is the deposit half of invariant page-table-lifetime at a
// quiescent point: every PMD table of a live mm lists as many live
// deposited tables as it has anon THP leaves (present or migration
// entries), each table at most once. It returns the problems found.
func (k *Kernel) CheckDeposits() []string {
	var out []string
	seen := map[*PTETable]*PMDTable{}
	for _, m := range k.mms {
		if m.Exited() {
			continue
		}
		want := map[*PMDTable]int{}
		var order []*PMDTable
		m.ForEachTable(func(_ int, pmd *PMDTable, e *PMDEntry) {
			if e == nil {
				order = append(order, pmd)
				return
			}
			if e.Leaf != nil && e.Leaf.Folio != nil && e.Leaf.Folio.anon && !e.Leaf.Folio.isHugetlb() {
				want[pmd]++
			}
		})
		for _, pmd := range order {
			if pmd.Freed() {
				continue // reported by PageTableLifetime
			}
			if n := len(pmd.deposits); n != want[pmd] {
				out = append(out, fmt.Sprintf("%s (in %s) lists %d deposited table(s) for %d anon THP leaf(s): a deposit or withdraw was lost", pmd.name, m.name, n, want[pmd]))
			}
			for _, tbl := range pmd.deposits {
				switch {
				case tbl.freed:
					out = append(out, fmt.Sprintf("%s (in %s) lists the deposited table %s, %s", pmd.name, m.name, tbl.name, tbl.FreedAt()))
				case seen[tbl] != nil:
					out = append(out, fmt.Sprintf("%s is deposited twice (in %s and %s)", tbl.name, seen[tbl].name, pmd.name))
				}
				seen[tbl] = pmd
			}
		}
	}
	return out
}
