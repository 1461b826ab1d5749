package locks

import (
	"slices"
	"strings"
)

// kernelFiles maps the kernel functions of the model's acquisition sites
// to the kernel source file that defines them (as of v6.16, the version
// the model follows; the model's own comments name the file where they
// do). A test checks that every site's function is here.
var kernelFiles = map[string]string{
	"__anon_vma_prepare":               "mm/rmap.c",
	"hugetlb_fault":                    "mm/hugetlb.c",
	"__replace_page":                   "kernel/events/uprobes.c",
	"copy_hugetlb_page_range":          "mm/hugetlb.c",
	"hugetlb_change_protection":        "mm/hugetlb.c",
	"unmap_and_move_huge_page":         "mm/migrate.c",
	"hugetlb_folio_mapping_lock_write": "mm/hugetlb.c",
	"migrate_huge_page_move_mapping":   "mm/migrate.c",
	"hugetlb_vma_trylock_write":        "mm/hugetlb.c",
	"migration_entry_wait_huge":        "mm/migrate.c",
	"hugetlb_no_page":                  "mm/hugetlb.c",
	"hugetlb_wp":                       "mm/hugetlb.c",
	"huge_pmd_share":                   "mm/hugetlb.c",
	"huge_pte_alloc":                   "mm/hugetlb.c",
	"__hugetlb_zap_begin":              "mm/hugetlb.c",
	"__hugetlb_zap_end":                "mm/hugetlb.c",
	"__unmap_hugepage_range":           "mm/hugetlb.c",
	"hugetlb_split":                    "mm/hugetlb.c",
	"hugetlb_unshare_pmds":             "mm/hugetlb.c",
	"hugetlb_add_to_page_cache":        "mm/hugetlb.c",
	"filemap_lock_hugetlb_folio":       "include/linux/hugetlb.h",
	"i_mmap_lock_read":                 "include/linux/fs.h",
	"i_mmap_unlock_read":               "include/linux/fs.h",
	"__bprm_mm_init":                   "fs/exec.c",
	"__folio_lock":                     "mm/filemap.c",
	"__folio_lock_or_retry":            "mm/filemap.c",
	"__try_to_reclaim_swap":            "mm/swapfile.c",
	"__mmap_new_vma":                   "mm/vma.c",
	"__pmd_alloc":                      "mm/memory.c",
	"__split_vma":                      "mm/vma.c",
	"__vm_munmap":                      "mm/mmap.c",
	"anon_vma_clone":                   "mm/rmap.c",
	"anon_vma_fork":                    "mm/rmap.c",
	"change_pte_range":                 "mm/mprotect.c",
	"copy_pte_range":                   "mm/memory.c",
	"do_anonymous_page":                "mm/memory.c",
	"do_cow_fault":                     "mm/memory.c",
	"do_mprotect_pkey":                 "mm/mprotect.c",
	"do_mremap":                        "mm/mremap.c",
	"do_read_fault":                    "mm/memory.c",
	"do_shared_fault":                  "mm/memory.c",
	"do_swap_page":                     "mm/memory.c",
	"dup_mmap":                         "kernel/fork.c",
	"exit_mmap":                        "mm/mmap.c",
	"filemap_fault":                    "mm/filemap.c",
	"filemap_get_folio":                "mm/filemap.c",
	"folio_lock_or_retry":              "include/linux/pagemap.h",
	"folio_lock_anon_vma_read":         "mm/rmap.c",
	"folio_migrate_mapping":            "mm/migrate.c",
	"folio_referenced_one":             "mm/rmap.c",
	"free_pgtables":                    "mm/memory.c",
	"get_arg_page":                     "fs/exec.c",
	"handle_pte_fault":                 "mm/memory.c",
	"lock_folio_maybe_drop_mmap":       "mm/filemap.c",
	"lock_mm_and_find_vma":             "mm/memory.c",
	"lock_vma_under_rcu":               "mm/mmap_lock.c",
	"madvise_lock":                     "mm/madvise.c",
	"migrate_folio_unmap":              "mm/migrate.c",
	"migrate_pages":                    "mm/migrate.c",
	"migration_entry_wait":             "mm/migrate.c",
	"move_normal_pmd":                  "mm/mremap.c",
	"move_ptes":                        "mm/mremap.c",
	"move_vma":                         "mm/mremap.c",
	"mprotect_fixup":                   "mm/mprotect.c",
	"pmd_install":                      "mm/memory.c",
	"relocate_vma_down":                "mm/vma_exec.c",
	"remove_migration_pte":             "mm/migrate.c",
	"rmap_walk_anon_lock":              "mm/rmap.c",
	"rmap_walk_file":                   "mm/rmap.c",
	"setup_arg_pages":                  "fs/exec.c",
	"shrink_folio_list":                "mm/vmscan.c",
	"swap_cache_get_folio":             "mm/swap_state.c",
	"take_rmap_locks":                  "mm/mremap.c",
	"try_to_migrate_one":               "mm/rmap.c",
	"try_to_unmap_one":                 "mm/rmap.c",
	"try_to_unmap_flush":               "mm/rmap.c",
	"folio_get_anon_vma":               "mm/rmap.c",
	"flush_tlb_batched_pending":        "mm/rmap.c",
	"unlink_anon_vmas":                 "mm/rmap.c",
	"unlink_file_vma":                  "mm/vma.c",
	"unmap_vmas":                       "mm/memory.c",
	"huge_pmd_set_accessed":            "mm/huge_memory.c",
	// The user's loads and stores: the model's hardware walk, inside an
	// RCU read section that stands for what GUP-fast relies on.
	"user load":                "mm/gup.c",
	"user store":               "mm/gup.c",
	"vm_mmap_pgoff":            "mm/util.c",
	"vma_expand":               "mm/vma.c",
	"vma_link":                 "mm/vma.c",
	"vma_link_file":            "mm/vma.c",
	"vma_merge_existing_range": "mm/vma.c",
	"vma_merge_extend":         "mm/vma.c",
	"vma_merge_new_range":      "mm/vma.c",
	"vma_prepare":              "mm/vma.c",
	"vma_shrink":               "mm/vma.c",
	// vma_start_write_killable is written in dup_mmap.
	"vma_start_write_killable": "kernel/fork.c",
	"vmf_anon_prepare":         "mm/memory.c",
	"vms_gather_munmap_vmas":   "mm/vma.c",
	"wp_can_reuse_anon_folio":  "mm/memory.c",
	"wp_page_copy":             "mm/memory.c",

	// Large folios, THP, khugepaged and PT reclaim (issue 14).
	"__collapse_huge_page_copy":        "mm/khugepaged.c",
	"__collapse_huge_page_isolate":     "mm/khugepaged.c",
	"__do_huge_pmd_anonymous_page":     "mm/huge_memory.c",
	"__folio_set_locked":               "include/linux/page-flags.h",
	"__split_huge_page_tail":           "mm/huge_memory.c",
	"__split_huge_pmd":                 "mm/huge_memory.c",
	"__split_huge_pmd_locked":          "mm/huge_memory.c",
	"change_huge_pmd":                  "mm/huge_memory.c",
	"collapse_file":                    "mm/khugepaged.c",
	"collapse_huge_page":               "mm/khugepaged.c",
	"copy_huge_pmd":                    "mm/huge_memory.c",
	"deferred_split_scan":              "mm/huge_memory.c",
	"do_huge_pmd_wp_page":              "mm/huge_memory.c",
	"hpage_collapse_scan_file":         "mm/khugepaged.c",
	"hpage_collapse_scan_pmd":          "mm/khugepaged.c",
	"khugepaged_scan_mm_slot":          "mm/khugepaged.c",
	"map_pte":                          "mm/page_vma_mapped.c",
	"move_huge_pmd":                    "mm/huge_memory.c",
	"page_vma_mapped_walk":             "mm/page_vma_mapped.c",
	"pmd_migration_entry_wait":         "mm/huge_memory.c",
	"retract_page_tables":              "mm/khugepaged.c",
	"set_pmd_migration_entry":          "mm/huge_memory.c",
	"split_huge_page_to_list_to_order": "mm/huge_memory.c",
	"try_get_and_clear_pmd":            "mm/pt_reclaim.c",
	"try_to_free_pte":                  "mm/pt_reclaim.c",
	"scan_get_next_rmap_item":          "mm/ksm.c",
	"folio_walk_start":                 "mm/pagewalk.c",
	"try_to_merge_with_ksm_page":       "mm/ksm.c",
	"try_to_merge_one_page":            "mm/ksm.c",
	"write_protect_page":               "mm/ksm.c",
	"madvise_update_vma":               "mm/madvise.c",
	"zap_huge_pmd":                     "mm/huge_memory.c",
	"zap_pte_range":                    "mm/memory.c",

	// The kernel functions of TLB flush sites not listed above.
	"do_vmi_align_munmap":         "mm/vma.c",
	"madvise_dontneed_single_vma": "mm/madvise.c",
}

// KernelFile returns the kernel source file of a site's kernel function,
// "?" when the table lacks it; for alternatives ("a|b") the files of each,
// joined by "|" when they differ.
func KernelFile(kernel string) string {
	var files []string
	for _, k := range strings.Split(kernel, "|") {
		f, ok := kernelFiles[k]
		if !ok {
			f = "?"
		}
		if !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	return strings.Join(files, "|")
}
