package ivtree

import (
	"strings"
	"testing"
)

// TestInsertAfterOutsideItsPreconditions shows what InsertAfter does, as
// vma_interval_tree_insert_after() does, when node's Last exceeds prev's or
// its Start differs: it links node after prev all the same, leaving a
// __subtree_last too small (an iteration then misses node) or the Start order
// broken. The kernel harness's insert_after_larger_last and
// insert_after_other_start sequences check the same calls against the kernel.
func TestInsertAfterOutsideItsPreconditions(t *testing.T) {
	keys := [][2]int{{10, 11}, {4, 5}, {16, 17}, {4, 6}}

	tree, pool := buildTree(keys...)
	n := &Node[int]{Item: 9, Start: 4, Last: 30}
	tree.InsertAfter(n, pool[1], nil)
	if err := tree.Verify(); err == nil || !strings.Contains(err.Error(), "__subtree_last") {
		t.Fatalf("a larger Last: Verify says %v, want a stale __subtree_last", err)
	}
	if got := tree.IterFirst(20, 25, nil); got != nil {
		t.Fatalf("a larger Last: iteration over [20,25] found %d, the kernel finds nothing", got.Item)
	}

	tree, pool = buildTree(keys...)
	n = &Node[int]{Item: 9, Start: 1, Last: 2}
	tree.InsertAfter(n, pool[2], nil)
	if err := tree.Verify(); err == nil || !strings.Contains(err.Error(), "comes before") {
		t.Fatalf("another Start: Verify says %v, want the Start order broken", err)
	}
	if in := items(tree.InOrder()); in[len(in)-1] != 9 {
		t.Fatalf("another Start: order %v, want node 9 right after node 2", in)
	}
}
