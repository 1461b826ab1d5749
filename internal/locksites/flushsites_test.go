package locksites_test

import (
	"slices"
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// TestFlushSites pins the TLB flush sites the scan finds: every call of
// flushTLBRange, flushTLBMM and tlbFinishMMU outside the TLB model's
// files, with its kernel function, the flush called, the variant that
// alone reaches it, and the mutant kinds.
func TestFlushSites(t *testing.T) {
	ss := sites(t)
	want := map[string]string{ // key: kernel function, primitive, variant
		"wpPageCopy:tlb_flush#1":         "wp_page_copy flushTLBRange ",
		"tryToMigrate.func4:tlb_flush#1": "try_to_migrate_one flushTLBRange ",
		// Reclaim's batch (tlbbatch.go).
		"tryToUnmapFlush:tlb_flush#1":        "try_to_unmap_flush flushTLBRange ",
		"flushTLBBatchedPending:tlb_flush#1": "flush_tlb_batched_pending flushTLBMM ",
		"moveNormalPMD:tlb_flush#1":          "move_normal_pmd flushTLBRange ",
		"movePTEs:tlb_flush#1":               "move_ptes flushTLBRange ",
		"movePTEs:tlb_flush#2":               "move_ptes flushTLBRange move_ptes-flush-after-unlock",
		"Fork:tlb_flush#1":                   "dup_mmap flushTLBMM ",
		"Mprotect:tlb_flush#1":               "do_mprotect_pkey flushTLBRange ",
		"doVMIAlignMunmap:tlb_flush#1":       "do_vmi_align_munmap tlbFinishMMU ",
		"zapSingle:tlb_flush#1":              "madvise_dontneed_single_vma tlbFinishMMU ",
		"exitMMap:tlb_flush#1":               "exit_mmap tlbFinishMMU ",
		// Large folios, THP, khugepaged (issue 14).
		"tryToUnmapFile.func3:tlb_flush#1":   "try_to_unmap_one flushTLBRange ",
		"setPMDMigrationEntry:tlb_flush#1":   "set_pmd_migration_entry flushTLBRange ",
		"splitHugePMDLockedLeaf:tlb_flush#1": "__split_huge_pmd_locked flushTLBRange ",
		"splitHugePMDLockedLeaf:tlb_flush#2": "__split_huge_pmd_locked flushTLBRange ",
		"retractPageTables:tlb_flush#1":      "retract_page_tables flushTLBRange ",
		"moveHugePMD:tlb_flush#1":            "move_huge_pmd flushTLBRange ",
		"collapseHugePage:tlb_flush#1":       "collapse_huge_page flushTLBRange ",
		// hugetlb (issue 15).
		"hugetlbUnsharePMDs:tlb_flush#1":      "hugetlb_unshare_pmds flushTLBRange ",
		"tryToMigrateHugetlb:tlb_flush#1":     "try_to_migrate_one flushTLBRange ",
		"tryToMigrateHugetlb:tlb_flush#2":     "try_to_migrate_one flushTLBRange ",
		"unmapHugepageRange:tlb_flush#1":      "__unmap_hugepage_range flushTLBRange ",
		"replacePage:tlb_flush#1":             "__replace_page flushTLBRange ",
		"hugetlbChangeProtection:tlb_flush#1": "hugetlb_change_protection flushTLBRange ",
		"hugetlbWP:tlb_flush#1":               "hugetlb_wp flushTLBRange ",
		// KSM (issue 15: the second case-B caller of page_vma_mapped_walk).
		"writeProtectPage:tlb_flush#1": "write_protect_page flushTLBRange ",
		// Hole punch: unmap_mapping_range's zap of each VMA.
		"unmapMappingPages:tlb_flush#1": "unmap_mapping_pages tlbFinishMMU ",
		// hugetlbfs hole punch: unmap_hugepage_range's gather.
		"unmapHugepageRangeGather:tlb_flush#1": "unmap_hugepage_range tlbFinishMMU ",
	}
	got := map[string]string{}
	for _, s := range ss.List {
		if !s.IsFlush() {
			continue
		}
		got[s.Key] = s.Kernel + " " + s.Primitive + " " + s.Variant
		if k := s.Kinds(); !slices.Equal(k, []ksync.MutantKind{ksync.MutantRemove, ksync.MutantFlushAfterUnlock}) {
			t.Errorf("%s: kinds %v", s.Key, k)
		}
		if len(s.Chain) != 1 || s.Pos().File == "tlb.go" {
			t.Errorf("%s: chain %v (one line, outside the TLB model)", s.Key, s.Chain)
		}
		if !strings.HasPrefix(s.Lock(), "tlb:") {
			t.Errorf("%s: lock %q", s.Key, s.Lock())
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected flush site %s (%s): a new flush in the model? add it here", k, got[k])
		}
	}
}

// TestIdentifyFlush: at run time a flush is attributed to the line that
// called the flush function outside the TLB model, whatever path it takes
// inside (tlb_finish_mmu's range flush and its nested-gather flush_tlb_mm
// are its caller's site), and a mutant matches its own site only.
func TestIdentifyFlush(t *testing.T) {
	ss := sites(t)
	prog := func(ops string) *kernelsim.Program {
		p, err := kernelsim.Parse("t", "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nsetup: store mm1 0x10 1\nsetup: store mm1 0x11 1\n"+ops)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		ops, site string
		also      string // another of the three below that the op reaches
	}{
		{"t1: munmap mm1 0x10+4\n", "doVMIAlignMunmap:tlb_flush#1", ""},
		{"t1: madvise mm1 0x10+4 dontneed\n", "zapSingle:tlb_flush#1", ""},
		{"t1: mprotect mm1 0x10+4 r\n", "Mprotect:tlb_flush#1", ""},
		{"t1: migrate mm1 0x10\n", "tryToMigrate.func4:tlb_flush#1", ""},
		{"t1: reclaim mm1 0x10\n", "tryToUnmapFlush:tlb_flush#1", ""},
		{"t1: fork mm1 mm2\n", "Fork:tlb_flush#1", ""},
		{"t1: exit mm1\n", "exitMMap:tlb_flush#1", ""},
		// mremap's unmap of the old range frees its emptied page table:
		// pte_free_tlb makes tlb_finish_mmu flush (freed_tables).
		{"t1: mremap mm1 0x10+4 -> 0x30\n", "movePTEs:tlb_flush#1", "doVMIAlignMunmap:tlb_flush#1"},
	} {
		c := ss.NewCensus()
		harness.Run(prog(tc.ops), harness.Options{SemanticOnly: true, Mutant: c.Mutant()})
		var hit []string
		for s := range c.Hits {
			if s.IsFlush() {
				hit = append(hit, s.Key)
			}
		}
		if !slices.Contains(hit, tc.site) || len(c.Unknown) > 0 {
			t.Errorf("%q: flush sites %v (unknown %v), want %s among them", tc.ops, hit, c.Unknown, tc.site)
		}
		for _, other := range []string{"doVMIAlignMunmap:tlb_flush#1", "zapSingle:tlb_flush#1", "Mprotect:tlb_flush#1"} {
			m := ss.Mutant(ss.ByKey(other), ksync.MutantRemove)
			harness.Run(prog(tc.ops), harness.Options{SemanticOnly: true, Mutant: m})
			if reached := m.Reached() > 0; reached != (other == tc.site || other == tc.also) {
				t.Errorf("%q: the mutant of %s reached %d times", tc.ops, other, m.Reached())
			}
		}
	}
	// Two MADV_DONTNEEDs of one page: the second's tlb_finish_mmu sees the
	// first's gather (mm_tlb_flush_nested) and flushes the whole mm, still
	// at zapSingle's site.
	p := prog("t1: madvise mm1 0x10+2 dontneed\nt2: madvise mm1 0x10+2 dontneed\n")
	for seed := range uint64(500) {
		c := ss.NewCensus()
		rep := harness.Run(p, harness.Options{SemanticOnly: true, Strategy: sched.NewPCT(seed, 3, 200), Mutant: c.Mutant()})
		if !strings.Contains(rep.RunTrace.String(), "tlb_finish_mmu (nested: fullmm)") {
			continue
		}
		for s := range c.Hits {
			if s.IsFlush() && s.Key != "zapSingle:tlb_flush#1" {
				t.Errorf("the nested flush was attributed to %s", s.Key)
			}
		}
		if len(c.Unknown) > 0 || c.Hits[ss.ByKey("zapSingle:tlb_flush#1")] < 2 {
			t.Errorf("nested gathers: hits %v, unknown %v", c.Hits, c.Unknown)
		}
		t.Logf("nested at seed %d", seed)
		return
	}
	t.Error("no schedule of the two madvises nests their gathers")
}
