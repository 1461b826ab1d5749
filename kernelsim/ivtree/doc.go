// Package ivtree is a port of the kernel's augmented interval rbtree, faithful
// at the level of single stores: lib/rbtree.c (__rb_insert,
// ____rb_erase_color, rb_next), include/linux/rbtree_augmented.h
// (rb_insert_augmented_cached, __rb_erase_augmented,
// rb_erase_augmented_cached, RB_DECLARE_CALLBACKS_MAX), the INTERVAL_TREE_DEFINE
// template of include/linux/interval_tree_generic.h (_insert, _remove,
// _subtree_search, _iter_first, _iter_next) and mm/interval_tree.c
// vma_interval_tree_insert_after. The kernel uses these trees for
// anon_vma->rb_root (of anon_vma_chains) and mapping->i_mmap (of VMAs).
//
// Every function keeps the kernel's statements in the kernel's order, so a
// reader that runs between two stores of a mutation sees exactly the
// intermediate tree that an unlocked kernel reader could see: a rotation half
// done, a node unreachable for a moment, a __subtree_last raised on the insert
// descent before the node is linked, a parent pointer cycle inside a rotation.
// The Step hook marks those points: every mutation calls it before each store
// and every iterator calls it before each read of a node, and the simulator
// puts a scheduling point there.
//
// Three consequences for an unlocked reader, each shown by a test in
// unlocked_test.go: it can skip nodes (a rotation detaches a subtree for a
// few stores) or return one twice (it climbs from a node that was just
// erased or moved); it can read and return an erased node; and it can
// dereference NULL (see subtree_search). It can also spin: inside
// __rb_insert case 2 a node and its new parent point to each other as
// parents for a few stores, and a reader climbing there returns the same
// node again and again until the writer resumes. Every iteration ends once
// the writer has finished, but a scheduler that keeps running the reader
// while the writer stays preempted at that point gets a reader that never
// ends.
//
// The port adds no safety that the kernel does not have. Remove leaves the
// erased node's pointers as __rb_erase_augmented leaves them, so IterNext from
// an erased node follows stale pointers, as the kernel would. Where the kernel
// would dereference NULL (possible only for a reader racing a writer, see
// subtree_search) the iterator panics with a *NullDeref naming the read: the
// kernel would oops there.
//
// Deliberate departures from the kernel, none visible to a reader:
//   - Parent and color are two Go fields, but they are always stored together,
//     as the one word __rb_parent_color is, with one Step.
//   - Node.inTree and Tree's node count are bookkeeping for Verify, InTree and
//     Len; no kernel code path reads them.
//   - Insert, InsertAfter and Remove panic with an "mmrace internal error" on a
//     node that is already in a tree (Insert) or not in one (Remove, and prev
//     of InsertAfter): that is the harness's bug, and the kernel would corrupt
//     its tree silently.
package ivtree
