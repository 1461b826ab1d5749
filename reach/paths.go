package reach

import (
	"slices"
)

// Paths are the kernel paths of the model that take a lock of each class,
// by the name the model gives them at the lock operation. A test checks
// that generated programs show every one of them and no other.
var Paths = map[string][]string{
	"mmap_lock":       {"__bprm_mm_init", "__vm_munmap", "__vmf_anon_prepare", "collapse_huge_page", "create_elf_tables", "do_mprotect_pkey", "do_mremap", "dup_mmap", "exit_mmap", "get_arg_page", "khugepaged_scan_mm_slot", "lock_mm_and_find_vma", "madvise_lock", "scan_get_next_rmap_item", "setup_arg_pages", "try_to_merge_with_ksm_page", "vm_mmap_pgoff", "vmf_anon_prepare"},
	"vma_lock":        {"__bprm_mm_init", "__mmap_new_vma", "__split_vma", "collapse_huge_page", "dup_mmap", "free_pgtables", "lock_vma_under_rcu", "madvise_update_vma", "move_vma", "mprotect_fixup", "relocate_vma_down", "setup_arg_pages", "vma_link", "vma_merge_existing_range", "vma_merge_extend", "vma_merge_new_range", "vma_start_write_killable", "vms_gather_munmap_vmas"},
	"i_mmap_rwsem":    {"__hugetlb_zap_begin", "collapse_file", "dup_mmap", "free_pgtables", "hugetlb_change_protection", "hugetlb_folio_mapping_lock_write", "hugetlb_unmap_file_folio", "hugetlbfs_punch_hole", "i_mmap_lock_read", "retract_page_tables", "rmap_walk_file", "split_huge_page_to_list_to_order", "take_rmap_locks", "unmap_mapping_folio", "unmap_mapping_range", "vma_link", "vma_link_file", "vma_prepare"},
	"anon_vma->rwsem": {"__anon_vma_prepare", "__split_vma", "anon_vma_fork", "anon_vma_merge", "collapse_huge_page", "copy_vma", "dup_anon_vma", "folio_lock_anon_vma_read", "free_pgtables", "move_vma(MREMAP_DONTUNMAP)", "rmap_walk_anon_lock", "split_huge_page_to_list_to_order", "take_rmap_locks", "vma_expand", "vma_prepare", "vma_shrink"},
	"folio_lock":      {"__collapse_huge_page_isolate", "__folio_lock", "__folio_lock_or_retry", "__folio_set_locked", "__split_huge_page_tail", "__try_to_reclaim_swap", "collapse_file", "deferred_split_scan", "do_huge_pmd_wp_page", "filemap_lock_folio_nowait", "filemap_lock_hugetlb_folio", "find_lock_entries", "folio_lock_or_retry", "folio_wait_locked", "hugetlb_add_to_page_cache", "hugetlb_fault", "hugetlb_no_page", "hugetlbfs_zero_partial_page", "lock_folio_maybe_drop_mmap", "migrate_folio_unmap", "migration_entry_wait_on_locked", "remove_inode_single_folio", "shmem_undo_range", "shrink_folio_list", "try_to_merge_one_page", "unmap_and_move_huge_page", "wp_can_reuse_anon_folio"},
	"page_table_lock": {"__anon_vma_prepare", "__handle_mm_fault", "copy_pte_range", "huge_pmd_share", "huge_pte_alloc", "move_page_tables"},
	"pmd_lock":        {"__do_huge_pmd_anonymous_page", "__split_huge_pmd", "__unmap_hugepage_range", "change_huge_pmd", "collapse_huge_page", "copy_huge_pmd", "copy_hugetlb_page_range", "do_huge_pmd_wp_page", "folio_referenced_one", "huge_pmd_set_accessed", "hugetlb_change_protection", "hugetlb_fault", "hugetlb_no_page", "hugetlb_unshare_pmds", "hugetlb_wp", "migration_entry_wait_huge", "move_huge_pmd", "move_normal_pmd", "pmd_install", "pmd_migration_entry_wait", "remove_migration_pte", "retract_page_tables", "try_get_and_clear_pmd", "try_to_free_pte", "try_to_migrate_one", "try_to_unmap_one", "zap_huge_pmd"},
	"ptl":             {"__collapse_huge_page_copy", "change_pte_range", "collapse_huge_page", "copy_pte_range", "do_anonymous_page", "do_cow_fault", "do_read_fault", "do_shared_fault", "do_swap_page", "folio_referenced_one", "folio_walk_start", "handle_pte_fault", "hpage_collapse_scan_pmd", "migration_entry_wait", "move_ptes", "remove_migration_pte", "retract_page_tables", "try_to_free_pte", "try_to_migrate_one", "try_to_unmap_one", "unmap_mapping_range_vma", "unmap_vmas", "wp_page_copy", "write_protect_page", "zap_page_range_single"},
	"i_pages":         {"collapse_file", "filemap_fault", "filemap_remove_folio", "folio_migrate_mapping", "hugetlb_add_to_page_cache", "migrate_huge_page_move_mapping", "split_huge_page_to_list_to_order"},
}

// Classes returns the classes of the matrix in a stable order.
func Classes() []string {
	var out []string
	for c := range Paths {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// AllCells returns every cell of the matrix: every pair of paths (a path
// with itself included) of every class, sorted.
func AllCells() []Cell {
	var out []Cell
	for _, c := range Classes() {
		ps := slices.Sorted(slices.Values(Paths[c]))
		for i, a := range ps {
			for _, b := range ps[i:] {
				out = append(out, NewCell(c, a, b))
			}
		}
	}
	return out
}

// Groups of paths the impossibility rules speak of.
var (
	// execPaths run on exec's new mm before exec_mmap: nothing else can
	// use that mm yet (the model refuses every op on an mm whose process
	// does not run), except migration and reclaim, which reach its pages
	// through rmap and never take its mmap_lock or VMA locks.
	execPaths = []string{"__bprm_mm_init", "get_arg_page", "setup_arg_pages", "relocate_vma_down", "create_elf_tables"}
	// execRmapPaths take the anon_vma lock of exec's temporary stack,
	// whose root anon_vma only that stack's VMA uses.
	execRmapPaths = []string{"vma_expand", "vma_shrink"}
	// rmapWalkers reach an object through a folio's rmap, holding no
	// mmap_lock or VMA lock of the mm.
	rmapWalkers = []string{"folio_lock_anon_vma_read", "rmap_walk_anon_lock", "rmap_walk_file"}
	// mmapWritePTL are the PTE-table paths whose op holds the mm's
	// mmap_lock for write (or, for munmap's zap, for read after a
	// downgrade, still excluding every writer) from before the PTL until
	// the op ends; khugepaged's collapse (collapse_huge_page's isolation
	// and __collapse_huge_page_copy) takes mmap_lock for write before
	// either PTL and returns with it.
	mmapWritePTL = []string{"change_pte_range", "move_ptes", "copy_pte_range", "unmap_vmas", "collapse_huge_page", "__collapse_huge_page_copy"}
	// anonFolioPaths lock only anonymous folios, fileFolioPaths only
	// page-cache folios.
	// khugepaged's anon collapse meets only anon folios
	// (__collapse_huge_page_isolate: VM_BUG_ON_FOLIO(!folio_test_anon)),
	// as do the deferred split queue (partially mapped anon THPs) and
	// do_huge_pmd_wp_page (wp_huge_pmd splits a file PMD instead);
	// collapse_file and its new folio (__folio_set_locked) are the page
	// cache's.
	anonFolioPaths = []string{"hugetlb_fault", "hugetlb_no_page", "folio_wait_locked", "wp_can_reuse_anon_folio", "folio_lock_or_retry", "__folio_lock_or_retry", "__try_to_reclaim_swap", "try_to_merge_one_page",
		"__collapse_huge_page_isolate", "deferred_split_scan", "do_huge_pmd_wp_page"}
	fileFolioPaths = []string{"lock_folio_maybe_drop_mmap", "__folio_lock", "__folio_set_locked", "hugetlb_add_to_page_cache", "filemap_lock_hugetlb_folio", "find_lock_entries", "shmem_undo_range", "filemap_lock_folio_nowait", "hugetlbfs_zero_partial_page", "remove_inode_single_folio",
		"collapse_file"}
	// freshFolioPaths lock a folio their task has just allocated, before
	// any other task can reach it (collapse_file's new THP, a hugetlb
	// fault's new page-cache folio, a private hugetlb fault's new anon
	// folio, which the model's hugetlb_no_page locks: its lock of a
	// page-cache folio is filemap_lock_hugetlb_folio's): a second path can
	// come to that lock only once the folio is in the page cache or
	// mapped, never by the same path. (A folio freed and allocated again
	// is a new folio, as in the model: the op that freed it no longer
	// uses it.) A split's tail is fresh too: __split_huge_page_tail locks
	// it (its flags copied from the locked head) while the folio is frozen
	// and before its slot or its mappings name it; a tail that is itself
	// large and split again later is locked by that split's caller
	// (deferred_split_scan, a punch), and its own tails are other folios.
	freshFolioPaths = []string{"__folio_set_locked", "hugetlb_add_to_page_cache", "hugetlb_no_page", "__split_huge_page_tail"}
	// mmapWritePMD are the PMD-table paths whose op holds the table's mm's
	// mmap_lock for write from before the PMD lock until the op ends
	// (mprotect, fork's copy of the parent, mremap, khugepaged's collapse,
	// __split_vma's hugetlb_split).
	mmapWritePMD = []string{"change_huge_pmd", "collapse_huge_page", "copy_huge_pmd", "copy_hugetlb_page_range", "hugetlb_change_protection", "hugetlb_unshare_pmds", "move_huge_pmd", "move_normal_pmd"}
	// sharedPMDPaths may lock a PMD table several mms share (hugetlb PMD
	// sharing): hugetlb's paths and the rmap walkers of hugetlb folios.
	// Every other PMD table belongs to one mm. copy_hugetlb_page_range is
	// not one of them: fork copies a hugetlb VMA only when vma_needs_copy,
	// for one with an anon_vma (a private VMA: want_pmd_share needs
	// VM_MAYSHARE, so its tables are never shared) or registered for
	// uffd-wp (uffd_disable_huge_pmd_share: userfaultfd_register unshared
	// its tables, hugetlb_unshare_all_pmds, and they are never shared
	// again); and the child's tables are new, used by no one before fork
	// returns. The model copies private hugetlb VMAs only.
	sharedPMDPaths = []string{"__unmap_hugepage_range", "hugetlb_change_protection", "hugetlb_fault", "hugetlb_no_page", "hugetlb_unshare_pmds", "hugetlb_wp", "migration_entry_wait_huge",
		"remove_migration_pte", "try_to_migrate_one", "try_to_unmap_one"}
	// hugetlbFolioPaths lock only hugetlb folios, nonHugetlbFolioPaths
	// never one (LRU, THP, KSM, swap and shmem paths; a hugetlb folio is
	// on none of those lists). Paths of both kinds (the fault's and
	// migration entries' waits, folio set up under __folio_set_locked)
	// are in neither.
	// (filemap_lock_folio_nowait is the hugetlbfs punch's trylock in the
	// model, __folio_lock filemap_fault's sleeping lock, which hugetlb
	// faults never take.)
	hugetlbFolioPaths    = []string{"hugetlb_fault", "hugetlb_no_page", "folio_wait_locked", "filemap_lock_hugetlb_folio", "hugetlb_add_to_page_cache", "hugetlbfs_zero_partial_page", "remove_inode_single_folio", "unmap_and_move_huge_page", "filemap_lock_folio_nowait"}
	nonHugetlbFolioPaths = []string{"__folio_lock", "__folio_set_locked", "__collapse_huge_page_isolate", "__split_huge_page_tail", "collapse_file", "deferred_split_scan", "do_huge_pmd_wp_page", "find_lock_entries", "folio_lock_or_retry", "__folio_lock_or_retry", "lock_folio_maybe_drop_mmap", "migrate_folio_unmap", "shmem_undo_range", "shrink_folio_list", "try_to_merge_one_page", "wp_can_reuse_anon_folio", "__try_to_reclaim_swap"}
	// hugetlbFilePaths take the i_mmap_rwsem or the i_pages lock of
	// hugetlbfs files only (i_mmap_lock_read is huge_pmd_share's, the
	// model's only path of that name); nonHugetlbFilePaths never of one:
	// khugepaged's file collapse, the shmem hole punch, the page cache's
	// fault and migration of small or THP folios. (mremap's vma_link, in
	// copy_vma, could meet hugetlbfs files in the kernel, whose mremap
	// moves hugetlb page tables; the model refuses mremap of hugetlb
	// VMAs, so its cells with hugetlb paths stay empty: a model gap.)
	hugetlbFilePaths = []string{"__hugetlb_zap_begin", "hugetlb_change_protection", "hugetlb_folio_mapping_lock_write", "hugetlb_unmap_file_folio", "hugetlbfs_punch_hole", "i_mmap_lock_read", "hugetlb_add_to_page_cache", "migrate_huge_page_move_mapping"}
	// rmap_walk_file takes i_mmap_rwsem itself only for walks that are not
	// RMAP_LOCKED: the page cache's small and THP folios (migration,
	// reclaim, KSM-less file folios). Every rmap walk of a hugetlb folio
	// is under hugetlb_folio_mapping_lock_write (unmap_and_move_huge_page,
	// memory failure: try_to_migrate/try_to_unmap with TTU_RMAP_LOCKED,
	// remove_migration_ptes with RMP_LOCKED), and page_idle and DAMON walk
	// LRU folios only.
	// take_rmap_locks is move_page_tables', which hands a hugetlb VMA to
	// move_hugetlb_page_tables before it (that takes the hugetlb VMA lock
	// and i_mmap_rwsem for write itself).
	nonHugetlbFilePaths = []string{"collapse_file", "retract_page_tables", "unmap_mapping_folio", "unmap_mapping_range", "filemap_fault", "folio_migrate_mapping", "rmap_walk_file", "take_rmap_locks", "split_huge_page_to_list_to_order"}
	// punchPaths are a hole punch's: shmem_fallocate holds the inode's
	// i_rwsem for write around them all. (split_huge_page_to_list_to_order
	// is one for i_mmap_rwsem and i_pages: only a punch's
	// truncate_inode_partial_folio splits a page-cache folio in the model;
	// an anonymous split, of the same name, takes neither.)
	punchPaths = []string{"split_huge_page_to_list_to_order", "find_lock_entries", "shmem_undo_range", "filemap_remove_folio", "unmap_mapping_range", "unmap_mapping_folio", "hugetlbfs_punch_hole", "hugetlb_unmap_file_folio", "filemap_lock_folio_nowait", "hugetlbfs_zero_partial_page", "remove_inode_single_folio"}
)

// Impossible says why the kernel never lets cell c's two paths meet on one
// lock while the first one's op is at work, or "" when it can.
func Impossible(c Cell) string {
	in := func(ps []string) (a, b bool) { return slices.Contains(ps, c.A), slices.Contains(ps, c.B) }
	if a, b := in(punchPaths); a && b && c.Class != "anon_vma->rwsem" { // an anonymous split is no punch
		return "two hole punches of one file are serialised by its i_rwsem, held for write for the whole op"
	}
	switch c.Class {
	case "i_mmap_rwsem", "i_pages":
		ha, hb := in(hugetlbFilePaths)
		na, nb := in(nonHugetlbFilePaths)
		if (ha && nb) || (na && hb) {
			return "one path works only on hugetlbfs files, the other never on one"
		}
	case "mmap_lock":
		if a, b := in(execPaths); a || b {
			return "exec's new mm is private until exec_mmap: no other task can take its mmap_lock (migration and reclaim reach its pages without it)"
		}
		if c.Has("exit_mmap") && !c.Has("khugepaged_scan_mm_slot") && !c.Has("collapse_huge_page") && !c.Has("scan_get_next_rmap_item") && !c.Has("try_to_merge_with_ksm_page") {
			// khugepaged and ksmd hold only an mm_count reference (their
			// mm_slot) and check mm_users after taking mmap_lock
			// (hpage_collapse_test_exit, ksm_test_exit), so they can meet
			// exit_mmap.
			return "exit_mmap runs once mm_users dropped to zero: no other op of the mm can run then, and migration and reclaim take no mmap_lock"
		}
	case "vma_lock":
		a, b := c.A == "lock_vma_under_rcu", c.B == "lock_vma_under_rcu"
		if !a && !b {
			return "two VMA write locks of one VMA: each is taken under the mm's mmap_lock held for write, which its op keeps until it ends (munmap's downgrade still excludes writers), so the second comes only after the first op ended"
		}
	case "anon_vma->rwsem":
		if c.A == "dup_anon_vma" && c.B == "dup_anon_vma" {
			return "dup_anon_vma takes the root of a never-forked VMA (one AVC), whose other VMAs with one AVC are all in its mm; two of them are mremaps of that mm, serialised by its mmap_lock held for write"
		}
		if a, b := in(execRmapPaths); a || b {
			if wa, wb := in(rmapWalkers); (a && b) || !(wa || wb) {
				return "exec's temporary stack has its own root anon_vma, used by no other VMA: only rmap walkers (migration, reclaim) of its pages share it, and exec's two re-keyings are one task's"
			}
		}
	case "ptl":
		a, b := in(mmapWritePTL)
		if a && b {
			return "both paths hold the table's mm's mmap_lock for write (munmap's zap: for read after downgrading, which still excludes writers) from before the PTL until their ops end"
		}
		if c.Has("write_protect_page") && (a || b) && !c.Has("unmap_vmas") {
			// munmap's zap runs under mmap_lock read after the downgrade,
			// beside readers such as ksmd, in a table a remaining VMA
			// may share with the removed one.
			return "ksmd's write_protect_page holds the mm's mmap_lock for read (try_to_merge_with_ksm_page) from before its PTL until its op ends, and the other path holds it for write from before its PTL until its op ends; a PTE table belongs to one mm"
		}
		// (No rule for PT reclaim, try_to_free_pte, against these
		// paths: the faithful stress reaches their cells, through tails
		// other than an op's noted result. Dropped at dc83ccc, tried
		// again and dropped again; the reason is not found yet.)
	case "page_table_lock":
		if c.Has("copy_pte_range") {
			return "copy_pte_range takes the page_table_lock of the child mm, which no one else can use before fork returns"
		}
		if c.A == "move_page_tables" && c.B == "move_page_tables" {
			return "two mremaps of one mm are serialised by its mmap_lock held for write for the whole op"
		}
	case "pmd_lock":
		if c.A == "move_normal_pmd" && c.B == "move_normal_pmd" {
			return "a PMD table belongs to one mm, whose mremaps are serialised by its mmap_lock held for write for the whole op"
		}
		if a, b := in(mmapWritePMD); a && b {
			if sa, sb := in(sharedPMDPaths); !sa && !sb {
				// A hugetlb path may lock a table another mm shares, and
				// that mm may become its only owner and map a THP range
				// there while the hugetlb path's op goes on (an unshare
				// by munmap of one sharer, then a MAP_FIXED mmap in the
				// other): its cells with THP paths are possible.
				return "neither path locks a shared hugetlb PMD table, so both lock a table of one mm, which another mm can share only while one shared hugetlb VMA covers its whole PUD range (vma_shareable), never while they work in it; both hold that mm's mmap_lock for write from before the PMD lock until their ops end"
			}
		}
	case "folio_lock":
		if c.Has("hugetlbfs_zero_partial_page") {
			// The path stays in the catalogue for the variant's runs
			// (hunt, check), whose matrix has it.
			return "hugetlbfs_zero_partial_page sleeps on the folio lock only before the 2026 fix of the punch's AB-BA deadlock with migration (v6.16, variant hugetlbfs_punch_hole-folio-lock-under-i_mmap); the faithful punch trylocks it, filemap_lock_folio_nowait, whose cells stand for it"
		}
		if a, b := in(freshFolioPaths); a && b {
			return "both lock a folio their task has just allocated, which no other task reaches before it is in the page cache or mapped"
		}
		if c.A == "deferred_split_scan" && c.B == "deferred_split_scan" {
			return "the shrinker takes a folio off the deferred split queue (under split_queue_lock) before it locks it, and a second pass finds it only once the first put it back at the end of its op"
		}
		if c.Has("__split_huge_page_tail") && c.Has("do_huge_pmd_wp_page") {
			return "a split's tails are new folios of a smaller order than a PMD's, which no PMD maps: do_huge_pmd_wp_page locks PMD-mapped folios only"
		}
		// (wp_can_reuse_anon_folio locks small folios only, but a THP's
		// head is one once the THP is split: a path that locked the THP
		// may meet it on the head in the same op, and the stress reached
		// do_huge_pmd_wp_page × wp_can_reuse_anon_folio. No rule.)
		if c.A == "shrink_folio_list" && c.B == "shrink_folio_list" {
			return "reclaim locks only a folio it isolated, and puts it back as the last act of its op: a second reclaim can isolate it only after the first op ended"
		}
		aa, ab := in(anonFolioPaths)
		fa, fb := in(fileFolioPaths)
		if (aa && fb) || (fa && ab) {
			return "one path locks only anonymous folios, the other only page-cache folios"
		}
		ha, hb := in(hugetlbFolioPaths)
		na, nb := in(nonHugetlbFolioPaths)
		if (ha && nb) || (na && hb) {
			return "one path locks only hugetlb folios, the other never one"
		}
	}
	return ""
}

// ModelGap says why the model has no path to cell c's race although the
// kernel allows it (a kernel path the model does not have, or takes
// another way), or "". Such a cell, when empty, is the model's gap, not
// the generators': no program can reach it. It stays counted among the
// possible cells.
func ModelGap(c Cell) string {
	if Impossible(c) != "" {
		return ""
	}
	in := func(ps []string) (a, b bool) { return slices.Contains(ps, c.A), slices.Contains(ps, c.B) }
	switch c.Class {
	case "i_mmap_rwsem":
		if ha, hb := in(hugetlbFilePaths); c.Has("vma_link") && (ha || hb) {
			return "mremap of a hugetlb VMA (move_hugetlb_page_tables) is not modelled: copy_vma's vma_link never links a hugetlbfs VMA (the kernel's path self-deadlocks when the new VMA covers a PUD range, N7: a faithful model of it needs that bug's fix or a guard first)"
		}
	case "folio_lock":
		// A large folio's head is the first small folio once it is split:
		// a path that locked the THP (do_huge_pmd_wp_page, the shrinker's
		// deferred_split_scan) may, in the same op, meet swap-in, ksmd or
		// khugepaged on that head, as a split's tails may meet them: no
		// model gap (the shrinker's pass goes on after the folio's unlock,
		// to its list's splice under split_queue_lock, in the model too).
		if c.Has("__split_huge_page_tail") {
			if pa, pb := in(punchPaths); pa || pb {
				return "the model splits a page-cache folio only in a hole punch (truncate_inode_partial_folio), which i_rwsem serialises with the other punch's paths; the kernel also splits a shmem THP in reclaim (shmem_writeout's split_folio_to_list), which is not modelled"
			}
			if c.Has("deferred_split_scan") {
				return "the model splits to order 0 only: a split to a non-zero order, whose large tails may be split again or queued for deferred split, is not modelled"
			}
		}
	}
	return ""
}
