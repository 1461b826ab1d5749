package oracle

// known is a difference between the model and the kernel that is
// understood and not fixed yet: a model bug. Deliberate limits are not
// here; LIMITS.md lists them and the comparison accounts for them.
type known struct {
	Kind    string // the Difference.Kind it shows as
	Example string // a program (under testdata) that shows it, the smallest found
	Why     string // the kernel behaviour the model lacks, with its function
	Since   string // the first kernel release with that behaviour, when recent ("6.17")
}

// knownDifferences are the open model bugs the oracle found. Whoever fixes
// one in the model deletes its entry: TestKnownDifferences then fails until
// the entry is gone, and from then on every test requires agreement.
var knownDifferences = []known{
	{
		Kind:    "mremap-grow: vma-merge",
		Example: "selftests/mremap_expand_merge.txt",
		Why:     "mremap growing in place merges with the next VMA when the growth makes them adjacent: expand_vma_in_place() → vma_merge_extend() → vma_merge_new_range() with vmg.next; the model's mremapInPlace only expands",
	},
	{
		Kind:    "mprotect: result host=ENOMEM model=ok",
		Example: "known/mprotect_over_a_hole_returns_enomem.txt",
		Why:     "do_mprotect_pkey() fails with ENOMEM when the range is not fully mapped, after changing the VMAs before the hole; the model returns success and changes nothing",
	},
	{
		Kind:    "madvise: result host=ENOMEM model=ok",
		Example: "known/madvise_over_a_hole_returns_enomem.txt",
		Why:     "madvise_walk_vmas() applies the advice to the mapped parts and returns ENOMEM for the unmapped ones; the model returns success",
	},
	{
		Kind:    "mremap-move: result host=ok model=EFAULT",
		Example: "known/mremap_move_with_a_gap_at_the_end.txt",
		Why:     "a fixed move may span several VMAs and gaps except at its start (remap_move(), d23cb648e365 \"mm/mremap: permit mremap() move of multiple VMAs\"); the model moves one VMA",
		Since:   "6.17",
	},
	{
		Kind:    "mremap-dontunmap: result host=ok model=EFAULT",
		Example: "known/mremap_dontunmap_with_a_gap_at_the_end.txt",
		Why:     "the multi-VMA move of remap_move() with MREMAP_DONTUNMAP",
		Since:   "6.17",
	},
	{
		Kind:    "mremap-dontunmap: result host=ok model=EINVAL",
		Example: "known/mremap_dontunmap_of_a_file_mapping.txt",
		Why:     "MREMAP_DONTUNMAP works on file and shared mappings since v5.13 (\"mm: extend MREMAP_DONTUNMAP to non-anonymous mappings\"; remap_is_valid() refuses only VM_DONTEXPAND and VM_PFNMAP); the model refuses them",
	},
	{
		Kind:    "mremap-shrink: result host=ok model=EFAULT",
		Example: "known/mremap_shrink_past_the_vma_end.txt",
		Why:     "an in-place shrink unmaps the tail whatever lies there: check_prep_vma() checks the VMA boundaries only when the call maps new space (vrm_will_map_new()); the model requires the old range inside one VMA",
	},
	{
		Kind:    "mremap-same: result host=ok model=EFAULT",
		Example: "known/mremap_same_size_past_the_vma_end.txt",
		Why:     "mremap to the same size is a no-op (mremap_at(), MREMAP_NO_RESIZE) checked only for a VMA at the address; the model requires the old range inside one VMA",
	},
	{
		Kind:    "mprotect: vma-merge",
		Example: "known/mprotect_splits_an_unchanged_vma.txt",
		Why:     "mprotect_fixup() leaves a VMA whose flags do not change alone (newflags == oldflags: no split), so a changed neighbour merges with all of it; the model splits it at the range's end and merges only the part inside",
	},
	{
		Kind:    "mmap-anon: vma-split",
		Example: "known/vm_account_blocks_a_merge.txt",
		Why:     "the model has no VM_ACCOUNT: accountable_mapping() sets it on private writable mappings, mprotect_fixup() keeps it on a faulted VMA made read-only, and is_mergeable_vma() compares vm_flags, so the kernel does not merge VMAs that differ in it",
	},
	{
		Kind:    "mprotect: vma-split",
		Example: "selftests/merge_mprotect_unfaulted_left.txt",
		Why:     "VM_ACCOUNT again: mprotect_fixup() clears it when an unfaulted anonymous VMA becomes read-only and keeps it on a faulted one, so the two halves do not merge (merge.c maps with MAP_NORESERVE to avoid exactly this; the program language has no MAP_NORESERVE)",
	},
}

// knownKind returns the known difference of kind, or nil.
func knownKind(kind string) *known {
	for i := range knownDifferences {
		if knownDifferences[i].Kind == kind {
			return &knownDifferences[i]
		}
	}
	return nil
}
