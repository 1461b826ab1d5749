package kernelsim

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
)

// Variant is one historical bug or plausible regression, switched on at the
// exact place where the kernel's safeguard lives. The faithful kernel is the
// empty set.
type Variant struct {
	Name      string // <kernel-symbol>-<defect>
	Function  string // the kernel function whose safeguard it removes
	KernelRef string // reference section and commit or thread
	Removes   string // what the variant leaves out
	// UnlockedTrees says the variant lets a task read or change an interval
	// tree without holding the tree's lock as its writers do, so the
	// harness makes the trees' stores and reads scheduling points
	// (Kernel.TreeSteps).
	UnlockedTrees bool `json:"unlocked_trees,omitempty"`
	// SemanticOnly says why a semantic-only search may not detect the
	// variant, "" when it must: "not observable: ..." when no invariant of
	// the model can see its consequence (the rule check still reports the
	// breach), "beyond the search: ..." when the consequence is shown by a
	// corpus scenario but needs more ordering constraints than the search
	// reaches. mmrace hunt fails a variant that goes undetected
	// semantic-only without such a reason.
	SemanticOnly string `json:"semantic_only,omitempty"`
	// Paths are the kernel paths (reach.Paths names) whose races the
	// variant changes: mmrace check reports the reach cells of these.
	Paths []string `json:"paths,omitempty"`
}

// AllVariants lists every variant the model knows, in a stable order.
var AllVariants = []Variant{
	{
		Name:      "dup_mmap-no-parent-vma-write-lock",
		Function:  "kernel/fork.c dup_mmap()",
		KernelRef: "D.12c, fb49c455323f \"fork: lock VMAs of the parent process when forking\" (bugzilla 217624)",
		Removes:   "vma_start_write() of each parent VMA, so a VMA-lock fault in the parent runs concurrently with the copy",
		Paths:     []string{"vma_start_write_killable", "copy_pte_range", "lock_vma_under_rcu"},
	},
	{
		Name:      "mmap-vma-lock-after-i_mmap",
		Function:  "mm/vma.c __mmap_new_vma() / vma_link_file()",
		KernelRef: "D.11a, 1c7873e33645 \"mm: lock newly mapped VMA with corrected ordering\"",
		Removes:   "the order vma_start_write(new) before i_mmap_lock_write(): the new VMA is write-locked under i_mmap_rwsem",

		SemanticOnly: "not observable: a lock-order inversion only: vma_start_write on a VMA nobody can read yet never waits, so no interleaving deadlocks; the order it breaks is real (hugetlb's huge_pmd_share takes i_mmap_rwsem under a VMA read lock, in the model too), and lockdep reports the inversion when rules are on",
		Paths:        []string{"vma_link_file", "__mmap_new_vma"},
	},
	{
		Name:      "vmf_anon_prepare-blocking-mmap-lock",
		Function:  "mm/memory.c vmf_anon_prepare()",
		KernelRef: "D.11b, B.2: a VMA-locked fault may only trylock mmap_lock",
		Removes:   "the mmap_read_trylock(): the fault blocks on mmap_lock while holding the VMA read lock",
		Paths:     []string{"vmf_anon_prepare"},
	},
	{
		Name:      "move_ptes-skip-rmap-locks",
		Function:  "mm/mremap.c move_ptes()",
		KernelRef: "D.1, 38a76013ad80 \"mm: avoid taking rmap locks in move_ptes()\"; Harry Yoo's 2025 documentation of need_rmap_locks",
		Removes:   "take_rmap_locks() in move_ptes even when the destination may be visited before the source",
		Paths:     []string{"take_rmap_locks", "move_ptes"},
	},
	{
		Name:      "copy_vma-merge-skips-rmap-locks",
		Function:  "mm/vma.c copy_vma()",
		KernelRef: "D.2, Andrea Arcangeli 2011 \"mremap: enforce rmap src/dst vma ordering in case of vma_merge() succeeding in copy_vma()\"; 38a76013ad80",
		Removes:   "need_rmap_locks = (new_vma->vm_pgoff <= vma->vm_pgoff) for a merged destination: merges are treated like fresh VMAs",
		Paths:     []string{"take_rmap_locks", "move_ptes", "copy_vma"},
	},
	{
		Name:      "mremap-revert-skips-rmap-locks",
		Function:  "mm/mremap.c move_vma() / copy_vma_and_data()",
		KernelRef: "D.2 regression: the revert of a partial move must always take the rmap locks",
		Removes:   "need_rmap_locks = true on the revert path: it reuses the forward move's decision",
		Paths:     []string{"take_rmap_locks", "move_ptes"},
	},
	{
		Name:      "move_normal_pmd-skip-rmap-locks",
		Function:  "mm/mremap.c move_pgt_entry() / should_take_rmap_locks()",
		KernelRef: "the D.1 race at page-table granularity (97113eb39fa7 made NORMAL_PMD moves always lock; D.5's stale-TLB race needs a TLB model)",
		Removes:   "the unconditional rmap locks of whole-PTE-table moves: they are skipped, even where need_rmap_locks asks for them (the destination is visited before the source)",
		Paths:     []string{"take_rmap_locks", "move_normal_pmd"},
	},
	{
		Name:      "try_to_migrate-no-temp-stack-skip",
		Function:  "mm/rmap.c try_to_migrate() (invalid_migration_vma)",
		KernelRef: "D.3, a8bef8ff6ea1 \"mm: migration: avoid race between shift_arg_pages() and rmap_walk() during migration by not migrating temporary stacks\"",
		Removes:   "rwc.invalid_vma = invalid_migration_vma: migration entries may be installed in exec's temporary stack",
		Paths:     []string{"try_to_migrate_one", "vma_expand", "vma_shrink"},
	},
	{
		Name:      "rmap_walk_anon-no-anon_vma-lock",
		Function:  "mm/rmap.c rmap_walk_anon()",
		KernelRef: "D.4, Ingo Molnar's 2012 RFC \"mm/migration: Don't lock anon vmas in rmap_walk_anon()\" and Linus Torvalds' reply",
		Removes:   "the anon_vma read lock around the interval-tree walk",

		UnlockedTrees: true,
		Paths:         []string{"folio_lock_anon_vma_read", "rmap_walk_anon_lock"},
	},
	{
		Name:      "anon_vma-lock-not-root",
		Function:  "include/linux/rmap.h anon_vma_lock_write() / anon_vma_lock_read()",
		KernelRef: "D.13, 012f18004da3 \"mm: always lock the root (oldest) anon_vma\"",
		Removes:   "locking the root anon_vma: each path locks the anon_vma at hand, so a walker of an ancestor and a writer of a child's bounds hold different locks",

		UnlockedTrees: true,
		Paths:         []string{"folio_lock_anon_vma_read", "rmap_walk_anon_lock", "anon_vma_fork", "vma_prepare", "__split_vma"},
	},
	{
		Name:      "remove_migration_pte-installs-into-none",
		Function:  "mm/migrate.c remove_migration_pte()",
		KernelRef: "D.9, Documentation/mm/process_addrs.rst: rmap-side code may only change entries it found under the PTL",
		Removes:   "the rule: it also fills empty entries of VMAs found in the rmap tree, including VMAs between unmap_vmas and free_pgtables",
		Paths:     []string{"remove_migration_pte", "unmap_vmas"},
	},
	{
		Name:      "lock_vma_under_rcu-anon_vma-check-before-lock",
		Function:  "mm/memory.c lock_vma_under_rcu() and do_anonymous_page()",
		KernelRef: "D.12b, 657b5146955e \"mm: lock_vma_under_rcu() must check vma->anon_vma under vma lock\" (with MREMAP_DONTUNMAP)",
		Removes:   "the check of vma->anon_vma after taking the VMA lock: it is checked before, and the fault then prepares an anon_vma without mmap_lock",

		SemanticOnly: "beyond the search: the consequence (find_mergeable_anon_vma reading a neighbour freed by a munmap, without mmap_lock) needs four ordering constraints (the fault's check, mremap DONTUNMAP unlinking the anon_vma, the munmap, then the prepare's read) with narrow windows: PCT of depth 3, 4, 5 or 6 (the search draws 2 to 6) finds none in 20,000 runs of the very program; the corpus scenario anon_vma_check_before_the_vma_lock_races_with_mremap_dontunmap.txt shows it semantic-only under its pinned schedule, and the search finds it in some seeds",
		Paths:        []string{"lock_vma_under_rcu", "vmf_anon_prepare", "__anon_vma_prepare", "move_vma(MREMAP_DONTUNMAP)"},
	},
	{
		Name:      "vma_start_read-no-vm_mm-check",
		Function:  "include/linux/mmap_lock.h vma_start_read()",
		KernelRef: "B.2; the vm_mm check that SLAB_TYPESAFE_BY_RCU VMAs need (v6.15, Suren Baghdasaryan's \"mm: make vma cache SLAB_TYPESAFE_BY_RCU\" series)",
		Removes:   "the check that the VMA found by a lockless lookup still belongs to the reader's mm after vma_start_read: a VMA object freed and reused by another mm is locked and used",
		Paths:     []string{"lock_vma_under_rcu", "__mmap_new_vma", "vms_gather_munmap_vmas"},
	},
	{
		Name:      "move_ptes-flush-after-unlock",
		Function:  "mm/mremap.c move_ptes()",
		KernelRef: "D.6, CVE-2018-18281, eb66ae030829 \"mremap: properly flush TLB before releasing the page\" (Linus Torvalds, 2018; Jann Horn's Project Zero report)",
		Removes:   "the flush of the old range before the PTLs are released: it comes after, so a CPU can keep using the old address while another path unmaps and frees the page through the new one",
	},
	{
		Name:      "tlb_finish_mmu-no-nested-flush",
		Function:  "mm/mmu_gather.c tlb_finish_mmu()",
		KernelRef: "99baac21e458 \"mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem\" (Minchan Kim, 2017): mm_tlb_flush_nested() forces a flush when another mmu_gather of the mm is in progress",
		Removes:   "the nested-gather flush: a zap that finds the PTEs already cleared by a concurrent zap (whose flush is still pending) flushes nothing and returns while translations of the range survive",
	},
	{
		Name:      "flush_tlb_batched_pending-missing",
		Function:  "mm/rmap.c flush_tlb_batched_pending() in change_pte_range(), zap_pte_range(), move_ptes()",
		KernelRef: "C.6.d, 3ea277194daa \"mm, mprotect: flush TLB if potentially racing with a parallel reclaim leaving stale TLB entries\" (Mel Gorman, 2017)",
		Removes:   "the flush of reclaim's pending batch after taking the PTL: an mprotect, munmap, MADV_DONTNEED or mremap that finds a PTE reclaim cleared (its flush batched for later) changes nothing there, flushes nothing, and returns while another CPU still writes through the old translation",
		Paths:     []string{"try_to_unmap_one", "change_pte_range", "unmap_vmas", "zap_page_range_single", "move_ptes"},
	},
	{
		Name:      "move_normal_pmd-no-pmd-recheck",
		Function:  "mm/mremap.c move_normal_pmd()",
		KernelRef: "D.7, 6fa1066fc5d0 \"mm/mremap: fix move_normal_pmd/retract_page_tables race\" (Jann Horn, 2024; fixes 1d65b771bc08)",
		Removes:   "the re-check under the PMD locks that the old PMD still points to a table: a PMD that retract_page_tables cleared after move_page_tables read it is moved as if it were one, and the new PMD points at pmd_pgtable(none), the page at pfn 0",
		Paths:     []string{"move_normal_pmd", "retract_page_tables"},
	},
	{
		Name:      "retract_page_tables-no-rmap-locks",
		Function:  "mm/khugepaged.c retract_page_tables()",
		KernelRef: "D.10a, 8d3c106e19e8 \"mm/khugepaged: take the right locks for page table retraction\" (Jann Horn, 2022)",
		Removes:   "i_mmap_lock_read around the walk of i_mmap: retraction finds VMAs and their page tables with no rmap lock, so munmap or exit can unlink the VMA and free its tables (or the VMA) under it",

		UnlockedTrees: true,
		Paths:         []string{"retract_page_tables", "free_pgtables"},
	},
	{
		Name:      "pte_offset_map_lock-no-pmd-recheck",
		Function:  "mm/pgtable-generic.c __pte_offset_map_lock() (and map_pte() in mm/page_vma_mapped.c)",
		KernelRef: "D.10b, Documentation/mm/process_addrs.rst; Hugh Dickins' 2023 series making pte_offset_map() fallible (\"mm/pgtable: allow pte_offset_map[_lock]() to fail\")",
		Removes:   "the pmd_same() re-check after taking the PTL: a walker that mapped a table just before PT reclaim or retract_page_tables detached it writes into the detached table, and the write is lost with it",
		Paths:     []string{"do_anonymous_page", "try_to_free_pte", "retract_page_tables"},
	},
	{
		Name:      "pt_reclaim-no-recheck-after-relock",
		Function:  "mm/memory.c zap_pte_range()",
		KernelRef: "D.15, \"mm: pgtable: fix incorrect reclaim of non-empty PTE pages\" (Qi Zheng, 2025; fixes 6375e95f381e)",
		Removes:   "direct_reclaim = false when zap_pte_range dropped the PTL mid-table (need_resched, force_break): the fast path clears the PMD without re-checking the entries a fault refilled meanwhile, and frees a table with a live PTE",
		Paths:     []string{"zap_page_range_single", "try_to_free_pte", "do_anonymous_page"},
	},
	{
		Name:      "retract_page_tables-no-pmd-recheck",
		Function:  "mm/khugepaged.c retract_page_tables()",
		KernelRef: "N6, \"mm: khugepaged: recheck pmd state in retract_page_tables()\" (Qi Zheng, 2024, the first prerequisite of PT reclaim)",
		Removes:   "check_pmd_state() under pmd_lock: a PMD that PT reclaim cleared after the lockless find_pmd_or_thp_or_none is taken for a table, its pte_lockptr is pfn 0's and pmd_pgtable(none) is freed",
		Paths:     []string{"retract_page_tables", "try_get_and_clear_pmd"},
	},
	{
		Name:      "mremap-batch-ignores-writable",
		Function:  "mm/mremap.c move_ptes() / mremap_folio_pte_batch()",
		KernelRef: "D.16, 04d1c9d60c6e \"mm/mremap: honor writable bit in mremap pte batching\" (fixes f822a9a81a31)",
		Removes:   "FPB_RESPECT_WRITE in the batch of a large folio's PTEs: set_ptes() writes the first PTE's value for all of them, so read-only PTEs after a writable one become writable",
		Paths:     []string{"move_ptes"},
	},
	{
		Name:      "split-misreads-pmd-migration-entry",
		Function:  "mm/huge_memory.c split_huge_pmd_locked()",
		KernelRef: "N4, be6e843fc51a \"mm/huge_memory: fix dereferencing invalid pmd migration entry\" (Gavin Guo, 2025; fixes 84c3fc4e9c56)",
		Removes:   "treating another folio's PMD migration entry as not the splitter's folio: pmd_folio() of the migration entry is dereferenced",
		Paths:     []string{"__split_huge_pmd", "try_to_migrate_one"},
	},
	{
		Name:      "zap-batch-crosses-table-end",
		Function:  "mm/memory.c zap_present_ptes() (folio_pte_batch's max_nr)",
		KernelRef: "N5, \"mm/rmap: fix potential out-of-bounds page table access during batched unmap\" (Lance Yang, 2025; fixes 354dffd29575): the same cap, at pmd_addr_end, in zap_pte_range's batching of a large folio",
		Removes:   "the cap of a large folio's PTE batch at the end of the PTE table (pmd_addr_end): the batch takes the rest of the folio up to the end of the range, assuming its pages lie in one table",
		Paths:     []string{"zap_page_range_single", "unmap_vmas"},
	},
	{
		Name:      "hugetlb_walk-without-lock",
		Function:  "kernel/events/uprobes.c valid_vma() (the callers of mm/page_vma_mapped.c page_vma_mapped_walk() outside an rmap walk)",
		KernelRef: "Peter Xu, \"mm/hugetlb: Document why page_vma_mapped_walk() is safe to walk\" (2022): page_vma_mapped_walk calls hugetlb_walk without the hugetlb VMA lock because its rmap callers hold i_mmap_rwsem and its other callers (KSM's write_protect_page, uprobes' __replace_page) never see a hugetlb VMA",
		Removes:   "valid_vma()'s exclusion of hugetlb VMAs: uprobe_mmap installs a breakpoint in a hugetlb mapping, and __replace_page's page_vma_mapped_walk reaches hugetlb_walk holding mmap_lock and the folio lock only, so a migration's huge_pmd_unshare (which excludes only the hugetlb VMA lock and i_mmap holders) can take the PMD table away under it",
	},
	{
		Name:      "hugetlb-fork-shared-pmd-double-lock",
		Function:  "mm/hugetlb.c copy_hugetlb_page_range()",
		KernelRef: "14967a9c7d24 \"mm/hugetlb: fix copy_hugetlb_page_range() to use ->pt_share_count\" (Jane Chu, 2025), fixing 59d9094df3d7 \"mm: hugetlb: independent PMD page table shared count\"; latent behind bcd51a3c679d \"hugetlbfs: lazy page table copies in fork()\"",
		Removes:   "fork's lazy skip of shared hugetlb page tables (bcd51a3c679d reverted) and the pt_share_count test of the child's PMD table: sharing is detected by page_count(), which stays 1, so when the child's huge_pte_alloc shared the parent's table the copy takes that table's lock and then, nested, the same lock again (a self-deadlock)",
	},
	{
		Name:      "huge_pmd_unshare-without-vma-lock",
		Function:  "mm/hugetlb.c __hugetlb_zap_begin() / huge_pmd_unshare()",
		KernelRef: "40549ba8f8e0 \"hugetlb: use new vma_lock for pmd sharing synchronization\" (Mike Kravetz, 2022), and Peter Xu's series \"mm/hugetlb: Make huge_pte_offset() thread-safe for pmd unshare\" (v6.2): huge_pmd_unshare may free a walker's PMD table unless the walker's hugetlb VMA lock is excluded",
		Removes:   "hugetlb_vma_lock_write() in __hugetlb_zap_begin: a zap (MADV_DONTNEED, munmap) unshares a PMD table holding i_mmap_rwsem W only, while a hugetlb fault that holds the VMA lock for read and found the table through huge_pte_alloc still uses it",
	},
	{
		Name:      "hugetlb_split-before-vma-lock",
		Function:  "mm/vma.c __split_vma() / mm/hugetlb.c hugetlb_split()",
		KernelRef: "D.8b, 081056dc00a2 \"mm/hugetlb: unshare page tables during VMA split, not before\" (Jann Horn, 2025, CVE-2025-38084), fixing b30c14cd6102 \"hugetlb: unshare some PMDs when splitting VMAs\"",
		Removes:   "hugetlb_split's place after vma_prepare: the PMDs the new boundary cuts are unshared by vm_ops->may_split before __split_vma write-locks the VMA and takes i_mmap_rwsem (hugetlb_unshare_pmds taking and dropping the locks itself), so a racing fault shares the table again before the split, and the two halves, each with its own hugetlb VMA lock, map one shared table",
	},
	{
		Name:      "hugetlbfs_punch_hole-folio-lock-under-i_mmap",
		Function:  "mm/migrate.c unmap_and_move_huge_page() / fs/hugetlbfs/inode.c hugetlbfs_zero_partial_page()",
		KernelRef: "D.22, syzbot+2d9c96466c978346b55f (October 2025): the v6.16 code, fixed by keeping i_mmap_rwsem across remove_migration_ptes (\"migrate: correct lock ordering for hugetlb file folios\"; Matthew Wilcox in the thread of \"Fix an AB-BA deadlock in hugetlbfs_punch_hole() involving page migration\", January 2026)",
		Removes:   "the order mm/rmap.c gives hugetlbfs (i_mmap_rwsem above the folio lock) in hugetlb migration: unmap_and_move_huge_page drops i_mmap_rwsem after try_to_migrate and remove_migration_ptes takes it for read under the folio lock, while hugetlbfs_punch_hole sleeps on that folio's lock holding i_mmap_rwsem for write (its v6.16 filemap_lock_folio, where the faithful model has the January 2026 trylock-and-repeat): an AB-BA deadlock; and remove_inode_single_folio's check of folio_mapped before it locks the folio (the later fix locks first, \"to guarantee no concurrent migration\"), so that a punch between the migration's walks skips its migration entries and takes out of the page cache a folio the migration maps again",
		Paths:     []string{"hugetlbfs_zero_partial_page", "hugetlbfs_punch_hole", "unmap_and_move_huge_page", "rmap_walk_file"},
	},
	{
		Name:      "hugetlb_unmap_file_folio-private-vm_private_data",
		Function:  "fs/hugetlbfs/inode.c hugetlb_unmap_file_folio()",
		KernelRef: "found by mmrace's faithful stress (November 2026), to be confirmed and reported: the mainline code as of v6.17; bf4916922c60 \"hugetlbfs: extend hugetlb_vma_lock to private VMAs\" (v6.7) made hugetlb_vma_trylock_write try a private VMA's resv_map rw_sema, and hugetlb_unmap_file_folio still takes vm_private_data for a struct hugetlb_vma_lock when that trylock fails",
		Removes:   "the distinction between a shareable VMA's hugetlb_vma_lock and a private VMA's resv_map lock in the punch's retry: for a private VMA that owns its reservations and maps a page-cache folio read-only, vma_lock = vma->vm_private_data is the resv_map pointer tagged HPAGE_RESV_OWNER, and kref_get, down_write and vma_lock->vma act on the resv_map's memory. The faithful model waits on the resv_map's rw_sema instead and checks under i_mmap_rwsem that the VMA is still mapped (the fix the code needs)",
		Paths:     []string{"hugetlb_unmap_file_folio", "__hugetlb_zap_begin"},
	},
}

// TestOnlyVariants are deliberately broken paths used to show that a test
// can fail (the state-machine property's must-fail case); they model no
// kernel bug and are not listed by mmrace variants.
var TestOnlyVariants = []Variant{
	{
		Name:      "test-mprotect-skips-vm_flags",
		Function:  "mm/mprotect.c mprotect_fixup()",
		KernelRef: "none (test only)",
		Removes:   "the vm_flags update: the VMA keeps its old protection",
	},
	{
		Name:      "test-mprotect-skips-migration-entries",
		Function:  "mm/mprotect.c change_pte_range()",
		KernelRef: "none (test only): the model before issue 9, which left migration entries alone",
		Removes:   "the rewrite of a writable migration entry as a readable one: a page under migration keeps its write permission through mprotect(PROT_READ)",
	},
	{
		Name:      "test-relocate_vma_down-ignores-overlap",
		Function:  "mm/vma_exec.c relocate_vma_down()",
		KernelRef: "none (test only)",
		Removes:   "the -EFAULT when something is mapped below the stack: a branch no program reaches (exec's new mm has only the stack), to check that mmrace check calls such a change not exercised",
		Paths:     []string{"relocate_vma_down"},
	},
	{
		Name:      "test-harness-internal-error",
		Function:  "none: migrate_pages() of the model",
		KernelRef: "none (test only)",
		Removes:   "nothing: it plants an internal error of the harness in every migration of a mapped folio, to check that no command counts one as a finding",
	},
}

// Variants is a set of variant names.
type Variants map[string]bool

// VariantSwitch is the set of variants in force in one kernel, as its
// decision points read it (k.Variants.Has("name") where the safeguard
// lives). It counts, per variant, how often a decision point answered yes:
// how often the variant's branch ran in the run. Decision points are
// written so that the question is asked only where the answer changes what
// the model does (the other conditions first), so a count of zero means the
// change was never exercised. For the faithful kernel (no variant) Has is
// one map lookup on an empty map.
type VariantSwitch struct {
	hits map[string]*atomic.Int64 // the variants on, each with its count
}

func newVariantSwitch(v Variants) VariantSwitch {
	var s VariantSwitch
	for _, n := range v.Names() {
		if s.hits == nil {
			s.hits = map[string]*atomic.Int64{}
		}
		s.hits[n] = new(atomic.Int64)
	}
	return s
}

// Has reports whether variant name is on, and counts a hit when it is: the
// caller is about to run the variant's branch.
func (s *VariantSwitch) Has(name string) bool {
	c, ok := s.hits[name]
	if ok {
		c.Add(1)
	}
	return ok
}

// Enabled reports whether variant name is on without counting: for a
// decision whose effect is known only later, where Hit counts it.
func (s *VariantSwitch) Enabled(name string) bool {
	_, ok := s.hits[name]
	return ok
}

// Hit counts a hit of variant name (on) where its changed branch is known
// to have made a difference (see Enabled).
func (s *VariantSwitch) Hit(name string) {
	if c, ok := s.hits[name]; ok {
		c.Add(1)
	}
}

// Set returns the variants on.
func (s *VariantSwitch) Set() Variants {
	v := Variants{}
	for n := range s.hits {
		v[n] = true
	}
	return v
}

// Total returns how often any variant's branch ran.
func (s *VariantSwitch) Total() int64 {
	var n int64
	for _, c := range s.hits {
		n += c.Load()
	}
	return n
}

// Hits returns how often each variant on had its branch run, by name.
func (s *VariantSwitch) Hits() map[string]int64 {
	out := make(map[string]int64, len(s.hits))
	for n, c := range s.hits {
		out[n] = c.Load()
	}
	return out
}

// Has reports whether variant name is on.
func (v Variants) Has(name string) bool { return v[name] }

// Names returns the variant names in sorted order.
func (v Variants) Names() []string {
	var out []string
	for n, on := range v {
		if on {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// UnlockedTrees reports whether a variant of the set lets a task at an
// interval tree without the tree's lock (Variant.UnlockedTrees).
func (v Variants) UnlockedTrees() bool {
	for _, n := range v.Names() {
		if d, ok := LookupVariant(n); ok && d.UnlockedTrees {
			return true
		}
	}
	return false
}

func (v Variants) String() string {
	if len(v.Names()) == 0 {
		return "faithful"
	}
	return strings.Join(v.Names(), ",")
}

// LookupVariant returns the variant named name.
func LookupVariant(name string) (Variant, bool) {
	for _, v := range append(AllVariants[:len(AllVariants):len(AllVariants)], TestOnlyVariants...) {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// ParseVariants reads a comma-separated list of variant names; empty means
// the faithful kernel.
func ParseVariants(s string) (Variants, error) {
	v := Variants{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" || n == "faithful" {
			continue
		}
		if _, ok := LookupVariant(n); !ok {
			var names []string
			for _, a := range AllVariants {
				names = append(names, a.Name)
			}
			return nil, fmt.Errorf("unknown variant %q (known: %s)", n, strings.Join(names, ", "))
		}
		v[n] = true
	}
	return v, nil
}
