// Package invnames is the catalogue of invariant names: every name a
// sched.Violation can carry (Violation.Invariant), with its kind, what it
// checks and where it is checked. It is a leaf package, so that every
// package that reports a violation may use its constants (kernelsim/sched
// and kernelsim/ksync cannot import package invariants).
//
// A test scans the module's Go source and fails when a name used there is
// missing from Catalogue, or a catalogued name is used nowhere, or an
// entry's Where does not list the files that use it; docs/invariants.md is
// generated from Catalogue:
//
//	go test ./internal/docgen -update
package invnames

// Kind says what a violation of that name means for a run: the outcome
// classes of sched.Verdict (Finding, HarnessLimit, InternalError,
// InvalidProgram), with findings split into consequences and rule checks.
type Kind uint8

// The kinds of invariant names.
const (
	// Semantic is a finding through a consequence of the race: broken
	// state, a lost write, a deadlock. It counts in semantic-only runs.
	Semantic Kind = iota + 1
	// Rule is a finding of a rule check (lock order, lockdep, held-lock
	// assertions, witnesses of the kernel's own arguments): reported at the
	// breach, and only when rule checks are on (not semantic-only).
	Rule
	// HarnessLimit ends a run on a bound of the harness (step limit,
	// watchdog): no verdict about the kernel either way.
	HarnessLimit
	// Internal is the harness's own bug, never a finding.
	Internal
	// Invalid marks the program as bad input: its setup does something the
	// kernel refuses.
	Invalid
)

var kindNames = [...]string{"", "semantic", "rule", "harness-limit", "internal-error", "invalid-program"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "kind?"
}

// Finding reports whether a violation of this kind is a finding about the
// simulated kernel (sched.Verdict.Finding's answer for it).
func (k Kind) Finding() bool { return k == Semantic || k == Rule }

// Entry is one invariant name.
type Entry struct {
	Name   string
	Kind   Kind
	Checks string   // what a violation means, in a sentence or three
	Where  []string // the files that report it, relative to the module root
}

// The invariant names, as call sites may spell them.
const (
	RmapWalkCoverage           = "rmap-walk-coverage"
	NoStragglingMigrationEntry = "no-straggling-migration-entry"
	RmapComplete               = "rmap-complete"
	MapcountRSS                = "mapcount-rss"
	VMATree                    = "vma-tree"
	AnonVMAHierarchy           = "anon-vma-hierarchy"
	PageTableLifetime          = "page-table-lifetime"
	UseAfterFree               = "use-after-free"
	Leak                       = "leak"
	MemoryContents             = "memory-contents"
	TLBCoherence               = "tlb-coherence"
	TLBUseAfterFree            = "tlb-use-after-free"
	ZapPostcondition           = "zap-postcondition"
	PTEProtWithinVMA           = "pte-prot-within-vma"
	MoveFidelity               = "move-fidelity"
	PTEBatchBounds             = "pte-batch-bounds"
	SharedPMDLifetime          = "shared-pmd-lifetime"
	HugetlbReservation         = "hugetlb-reservation"
	KernelOops                 = "kernel-oops"
	BugOn                      = "bug-on"
	FaultWrongMM               = "fault-wrong-mm"
	Livelock                   = "livelock"
	Deadlock                   = "deadlock"
	Check                      = "check"
	LockOrder                  = "lock-order"
	Lockdep                    = "lockdep"
	LockRule                   = "lock-rule"
	MoveOrderWitness           = "move-order-witness"
	TempStackNoMigrationEntry  = "temp-stack-no-migration-entry"
	StepLimit                  = "step-limit"
	Timeout                    = "timeout"
	InternalError              = "internal-error"
	SetupRefused               = "setup-refused"
)

// Catalogue lists every invariant name: the findings through consequences
// first, then the rule checks, then the outcomes of the harness.
var Catalogue = []Entry{
	{RmapWalkCoverage, Semantic,
		"An rmap walk visits every mapping of its folio that exists, unchanged in kind, from the walk's start to its end, in the source or the destination VMA of a move (\"every PTE is found by rmap walks\", checked as each walk ends). A mapping is a PTE mapping a page or a PMD leaf (a THP, a PMD migration entry) mapping them all; it keeps its identity when a split turns the leaf into PTEs. A walk that peeks without the PTL (try_to_migrate, folio_referenced) is excused the mappings written during the walk, as the kernel excuses them; remove_migration_ptes must find every one.",
		[]string{"invariants/dynamic.go"}},
	{NoStragglingMigrationEntry, Semantic,
		"When a migration ends, while the migrator still holds the source folio's lock, no migration entry for that folio remains anywhere. A fault that meets a migration entry whose folio nobody holds locked (or that was freed) reports it too: the kernel's BUG_ON(!PageLocked) in migration_entry_to_page, or a wait that never ends.",
		[]string{"invariants/dynamic.go", "kernelsim/thp.go"}},
	{RmapComplete, Semantic,
		"At rest, every present or migration entry mapping folio F at address A in VMA V is reachable from F's rmap root (an AVC of V in the tree of F's anon_vma, or V in the i_mmap of F's file), and vma_address(F, V) is A.",
		[]string{"invariants/invariants.go"}},
	{MapcountRSS, Semantic,
		"At rest, each folio's mapcount equals the present entries that map it (a PTE mapping one of a large folio's pages and a PMD leaf mapping all of them count one each), its entire mapcount the PMD leaves among them, and each mm's rss counters equal the pages a scan of its page tables finds mapped (a PMD leaf maps all its folio's pages; the kernel's \"Bad page map\" and \"Bad rss-counter state\"). A mapcount that goes negative is reported when it happens.",
		[]string{"invariants/invariants.go", "kernelsim/folio.go", "kernelsim/swap.go"}},
	{VMATree, Semantic,
		"At rest, each mm's VMA tree is sorted, without overlaps or empty ranges, keyed by its VMAs' current bounds, holds only live, attached VMAs of that mm, and agrees with map_count; every file VMA sits in its file's i_mmap and every AVC in its anon_vma's tree under the VMA's current pgoff range; both kinds of interval tree verify as red-black trees with correct augmented values; an i_mmap holds only VMAs still in their mm's tree.",
		[]string{"invariants/invariants.go", "kernelsim/mprotect.go", "kernelsim/treestep.go"}},
	{AnonVMAHierarchy, Semantic,
		"At rest, a VMA with an anon_vma has an AVC for it and for each of its ancestors, all under one root; each AVC of a VMA's chain points back to that VMA; num_active_vmas and num_children match what uses each anon_vma.",
		[]string{"invariants/invariants.go"}},
	{PageTableLifetime, Semantic,
		"A page table is freed only when all its entries are none and only once, and must be a table (checked when free_pgtables, PT reclaim or retract_page_tables frees it: pmd_pgtable() of a none PMD is the page at pfn 0); a PTE is written only into a table its PMD points to at that moment (unless the writer holds the table privately: a withdrawn or detached one it fills or empties), so no write is lost with a detached table; free_pgtables finds no leaf left; at rest every PMD entry reachable from a live mm points at a live PTE table or is a leaf, and each PMD table's deposit list (pmd_huge_pte) holds one live table per anon THP leaf, none twice; a PMD table is freed with an empty list. A hugetlb walker dereferences the PMD table hugetlb_walk() gave it only while its mm still points at it (huge_pmd_unshare did not take it away under the walker).",
		[]string{"invariants/invariants.go", "kernelsim/hugetlb.go", "kernelsim/khugepaged_file.go", "kernelsim/movepgtables.go", "kernelsim/pagetable.go", "kernelsim/ptreclaim.go", "kernelsim/zap.go"}},
	{UseAfterFree, Semantic,
		"A freed object (VMA, AVC, anon_vma, folio, page table) is poisoned, not forgotten: touching it, or freeing it twice, is reported at once, as KASAN would. At rest, no mapping points at a freed folio and no VMA uses a freed anon_vma.",
		[]string{"invariants/invariants.go", "kernelsim/folio.go", "kernelsim/kernel.go"}},
	{Leak, Semantic,
		"After exit_mmap of every mm (the end of every run): every anon folio, page table, PMD table and anon_vma has been freed, and no page-cache folio is still mapped.",
		[]string{"invariants/invariants.go"}},
	{MemoryContents, Semantic,
		"Every successful load returns what the program's semantics say: the last value stored at that address of that mm (fresh memory is zero), the parent's value at the moment fork copied the page, the value carried along by mremap or exec's stack move, the last value stored through any shared mapping of a file page, the file's own content for a private file page never written. An access through a stale cached translation while the task that changed the PTE still owes the flush is part of that race: it counts as made just before the change (kernelsim/tlbrace.go). Checked over the memory log after the concurrent phase, in controlled mode only; and at wp_page_copy and hugetlb_wp, where a store that reached the old anon page after the copy (through a stale writable translation, D.12c) is lost.",
		[]string{"invariants/memory.go", "kernelsim/fault.go", "kernelsim/flushmutant.go", "kernelsim/hugetlbprivate.go"}},
	{TLBCoherence, Semantic,
		"When an operation reaches the point where the kernel promises its TLB flush has happened (the end of munmap, mprotect, mremap, MADV_DONTNEED and fork; KSM's write-protection and a private hugetlb COW (hugetlb_wp), for their page; a finished migration, for the old folio), no task's TLB still translates a page of the range, cached before the operation began, to a folio its PTE no longer maps, or allows a store its PTE no longer allows (reference I5). Break-before-make: when hugetlb_wp installs its copy (set_huge_pte_at), no task's TLB still translates the huge page to the old folio; and once a task has stored through the PTE wp_page_copy installed for its copy while the old translation's flush is still owed, no other task loads through a stale translation a value the address no longer holds, or stores through one. A task still inside the operation that reduced a PTE and owes its flush cannot use its own stale translation (it runs no user code before the flush), so its own TLB is excused until its op returns; if the op returns without the flush (a removed flush), a stale translation left in its own TLB is a violation.",
		[]string{"kernelsim/flushmutant.go", "kernelsim/hugetlbprivate.go", "kernelsim/tlb.go", "kernelsim/user.go"}},
	{TLBUseAfterFree, Semantic,
		"No user access goes through a cached translation to a folio that has been freed, nor walks through a cached PMD or PUD entry (the paging-structure cache) into a page table that has been freed; and when a page table is freed, no CPU that has its mm's page tables loaded (running the mm, or lazily after exit or in a kernel thread) still caches a PMD or PUD entry pointing to it (a hugetlb PMD table that another mm shared is freed by its last sharer), since such a CPU may walk it speculatively at any time: the kernel freed the page or the table before flushing the translation (reference I5, D.6).",
		[]string{"kernelsim/tlbpsc.go", "kernelsim/user.go"}},
	{HugetlbReservation, Semantic,
		"The huge page pool keeps its promises (Documentation/mm/hugetlbfs_reserv.rst): resv_huge_pages never goes below zero; a fault of a shared hugetlb mapping at a page its mmap reserved never fails for want of a huge page (SIGBUS); at a quiescent point resv_huge_pages is the number of reserved huge pages the page cache does not hold yet, and the free pages of a finite pool (\"hugepages N\") are those no folio uses. The hugetlb fault mutex is what keeps two faults of one page, or a fault and the hole punch of that page, from consuming one reservation twice or one that no longer exists.",
		[]string{"invariants/invariants.go", "kernelsim/hugetlbpool.go"}},
	{ZapPostcondition, Semantic,
		"When munmap has removed the range's VMAs and freed their tables, no present or migration entry remains in the range.",
		[]string{"kernelsim/munmap.go"}},
	{PTEProtWithinVMA, Semantic,
		"When mprotect has changed a VMA's protection (change_protection done, mmap_lock and the VMA lock still held for write), no PTE of the VMA allows more than its new vm_flags, and no migration entry in it is writable unless the VMA is: remove_migration_pte would otherwise restore a writable PTE in a read-only VMA.",
		[]string{"invariants/invariants.go", "kernelsim/mprotect.go"}},
	{MoveFidelity, Semantic,
		"move_ptes finds each destination entry none before it writes the moved entry there, and writes each entry with the source's permissions (reference I12: a batch of a large folio's PTEs may not make a read-only one writable).",
		[]string{"kernelsim/movepgtables.go"}},
	{SharedPMDLifetime, Semantic,
		"A hugetlb PMD table shared between mms (huge_pmd_share) is freed only by its last sharer: when free_pgtables frees it, its pt_share_count is zero and no other mm's PUD points at it. At rest every PMD table a live mm maps is alive and its pt_share_count is the number of mms mapping it less one. A table is shared only under VMAs that cover its whole PUD range (vma_shareable): a __split_vma of a hugetlb VMA that cuts the range leaves its mm with a table of its own (hugetlb_split unshares first), else the table's sharers' walkers are serialised against its unshare by different hugetlb VMA locks.",
		[]string{"invariants/invariants.go", "kernelsim/hugetlbshare.go"}},
	{PTEBatchBounds, Semantic,
		"A batch of PTEs of one large folio (folio_pte_batch in zap_pte_range, move_ptes) stays inside its page table: reading an entry past the table's end reads memory that is no part of it, as KASAN would report (reference N5).",
		[]string{"kernelsim/zap.go"}},
	{KernelOops, Semantic,
		"The kernel dereferences no pointer that is not one: an interval-tree iterator never dereferences NULL (one that runs without the tree's lock can, when a rotation or an erase changed the tree under it), and split_huge_pmd_locked never takes a PMD migration entry for a page (pmd_folio() of one reads the swap entry as a pfn), and collapse_huge_page never walks as a page table what pmdp_collapse_flush returned when that was no table, and no two writers change one file's page-cache xarray at once (xas_store under the xa_lock; the model's slots are atomic, so each store's step is a window a second writer must not enter), and anon_vma_fork never reads pvma->anon_vma as NULL after it checked it, and pgtable_trans_huge_withdraw never finds its PMD table's deposit list empty (a deposit lost to an update of the list without the PMD lock), and hugetlb_unmap_file_folio never takes a private VMA's resv_map (its vm_private_data) for a struct hugetlb_vma_lock, and (under a lock mutant) hugetlb_change_protection never takes i_mmap_rwsem through a VMA freed and reused as an anonymous one (a NULL vm_file), and no task releases a lock it does not hold because the object it locked was freed and reused under it: the oops or lock corruption the kernel would take.",
		[]string{"kernelsim/anonvma.go", "kernelsim/hugetlbprot.go", "kernelsim/hugetlbpunch.go", "kernelsim/khugepaged.go", "kernelsim/ksync/env.go", "kernelsim/thpdeposit.go", "kernelsim/thpsplit.go", "kernelsim/treestep.go", "kernelsim/xarray.go"}},
	{BugOn, Semantic,
		"A BUG_ON or VM_BUG_ON the kernel has at that point holds: __folio_set_anon's BUG_ON(!anon_vma) for a new anon folio, copy_vma's VM_BUG_ON_VMA(faulted_in_anon_vma) for a VMA merged with itself.",
		[]string{"kernelsim/kernel.go"}},
	{FaultWrongMM, Semantic,
		"A fault handled under the per-VMA lock handles a VMA of its own mm. A VMA object freed and reused by another mm (the VMA cache is SLAB_TYPESAFE_BY_RCU) that vma_start_read locks without checking vm_mm would have the fault install this process's page in the other mm.",
		[]string{"kernelsim/fault.go"}},
	{Livelock, Semantic,
		"A user load or store (or a get_user_pages of uprobes) completes within 64 faults.",
		[]string{"kernelsim/uprobe.go", "kernelsim/user.go"}},
	{Deadlock, Semantic,
		"While some task is unfinished, some task can run. Otherwise the run ends with the wait-for cycle (task → lock → holder) or, without a cycle, what every task waits for; in free mode a watchdog calls it when every live task has been blocked for a while.",
		[]string{"kernelsim/sched/deadlock.go"}},
	{Check, Semantic,
		"A check: line of the program (vmas, load, unmapped) holds after the concurrent phase.",
		[]string{"harness/checks.go"}},
	{LockOrder, Rule,
		"Every blocking acquisition respects the static lock order of the comment at the top of mm/rmap.c (i_rwsem, mmap_lock, invalidate_lock, folio lock, hugetlbfs i_mmap_rwsem, vma_start_write, i_mmap_rwsem, anon_vma->rwsem, page_table_lock or PTL, outer to inner): no lock taken under one of a later level, none blocked on at the same level, no second lock of a class without a nesting annotation. Trylocks are exempt.",
		[]string{"kernelsim/ksync/env.go"}},
	{Lockdep, Rule,
		"The run's lockdep graph of \"held A while taking B\" edges, across all tasks (and runs that share the graph), stays acyclic: an edge that closes a cycle is reported even though no deadlock happened in this run.",
		[]string{"kernelsim/ksync/env.go"}},
	{LockRule, Rule,
		"The held-lock assertions of the kernel hold (mmap_assert_write_locked, vma_assert_write_locked, vma_assert_locked, lockdep_assert_held and the field-write rules built on them); no sleeping lock or synchronize_rcu inside a spinlock or an RCU read section; no VMA detached with readers inside; a task returns to user space holding nothing.",
		[]string{"kernelsim/ksync/env.go", "kernelsim/ksync/rcu.go", "kernelsim/ksync/rwsem.go", "kernelsim/ksync/vmalock.go"}},
	{MoveOrderWitness, Rule,
		"When move_ptes or a page-table move runs without the rmap locks, the destination VMA comes after the source in every interval tree both are in (greater pgoff, or equal and inserted later), unless the move relocates exec's temporary stack: the argument that lets the kernel skip the locks, checked at the move.",
		[]string{"kernelsim/movepgtables.go"}},
	{TempStackNoMigrationEntry, Rule,
		"try_to_migrate never installs a migration entry in exec's temporary stack (a VMA still marked VM_STACK_INCOMPLETE_SETUP), the safeguard that lets exec move its stack without rmap locks.",
		[]string{"kernelsim/migrate.go"}},
	{StepLimit, HarnessLimit,
		"The run exceeded its budget of scheduling points (50,000 by default, 20,000 under the fuzzer).",
		[]string{"kernelsim/sched/task.go"}},
	{Timeout, HarnessLimit,
		"The wall-clock watchdog fired (2 s by default, well inside go test -fuzz's 10 s per input).",
		[]string{"kernelsim/sched/sched.go", "kernelsim/sched/task.go"}},
	{InternalError, Internal,
		"The harness failed: a panic in model code, a replay that diverged, a strategy that answered the impossible, a sanity check of the simulator. Its detail starts with \"mmrace internal error:\"; commands exit 3.",
		[]string{"harness/harness.go", "kernelsim/sched/sched.go", "kernelsim/sched/task.go"}},
	{SetupRefused, Invalid,
		"A setup op was refused by the kernel (EINVAL, ENOMEM, SIGSEGV, ...): the program is invalid input, reported with the op's line; commands exit 2.",
		[]string{"harness/harness.go"}},
}

// Lookup returns the entry named name.
func Lookup(name string) (Entry, bool) {
	for _, e := range Catalogue {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Names returns the names of the entries of kind k, in catalogue order.
func Names(k Kind) []string {
	var out []string
	for _, e := range Catalogue {
		if e.Kind == k {
			out = append(out, e.Name)
		}
	}
	return out
}
