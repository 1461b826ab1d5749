package ivtree

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// These tests run an iteration that does not hold the tree's lock against a
// mutation, switching between them at Step boundaries (the reader's reads and
// the writer's stores), and show what the kernel's code does then: the
// consequences the simulator exists to expose.

// twoNodes is the tree of the concrete tests: node 0 [0,5] is the black
// root, node 1 [10,15] its red right child; node 2 is spare.
//
//	0:B [0,5] ^15
//	   \
//	    1:r [10,15] ^15
func twoNodes() (*Tree[int], []*Node[int]) {
	return buildTree([2]int{0, 5}, [2]int{10, 15})
}

// TestUnlockedIteratorSkipsDuringRotation: inserting [5,7] ends in a left
// rotation at the root (__rb_insert case 2 then case 3). After its eleventh
// store, "case 3: WRITE_ONCE(gparent->rb_right, tmp)", the old root 0 has no
// children and nodes 1 and 2 hang only from node 2, which the root does not
// reach yet. A reader that starts then sees a one-node tree and misses node 1,
// which is in the tree before and after the insert: "a lookup might miss
// entire subtrees" (lib/rbtree.c).
func TestUnlockedIteratorSkipsDuringRotation(t *testing.T) {
	sc := scenario{
		name:  "insert [5,7] into 0->1, iterate all",
		build: twoNodes,
		mutate: func(tree *Tree[int], pool []*Node[int]) (func(Step[int]), *Node[int]) {
			pool[2].Start, pool[2].Last = 5, 7
			return func(s Step[int]) { tree.Insert(pool[2], s) }, nil
		},
		start: 0, last: 100,
	}
	out, v, visited := sc.run(schedule{At: 0, Stores: 11, Window: 13})
	if !slices.Equal(visited, []int{0}) || !slices.Equal(v.skipped, []int{1}) || out.nullDeref != "" {
		t.Fatalf("visited %v, verdict %+v, NULL dereference %q; want only node 0, node 1 skipped", visited, v, out.nullDeref)
	}
}

// TestUnlockedIteratorRevisitsAfterErase: the reader has returned node 1 and
// is in iter_next(1) when node 1 is erased ("__rb_change_child:
// WRITE_ONCE(parent->rb_right, new)" sets 0's right link to NULL). It climbs
// by 1's stale parent pointer to 0, reads 0's right link, finds that it did
// not come from there, concludes it came up from the left, and returns 0 a
// second time.
func TestUnlockedIteratorRevisitsAfterErase(t *testing.T) {
	sc := scenario{
		name:  "remove 1 from 0->1, iterate all",
		build: twoNodes,
		mutate: func(tree *Tree[int], pool []*Node[int]) (func(Step[int]), *Node[int]) {
			return func(s Step[int]) { tree.Remove(pool[1], s) }, pool[1]
		},
		start: 0, last: 100,
	}
	// The reader's reads are: IterFirst 0-7 (returns 0), IterNext(0) 8-12
	// (returns 1), IterNext(1) 13 (1's rb_right), 14 (1's parent), 15
	// (0's rb_right). The writer runs whole just before read 15.
	out, v, visited := sc.run(schedule{At: 15, Stores: 0, Window: 0})
	if !slices.Equal(visited, []int{0, 1, 0}) || !slices.Equal(v.revisited, []int{0}) || out.freedRead {
		t.Fatalf("visited %v, verdict %+v, freed read %v; want 0 1 0", visited, v, out.freedRead)
	}
}

// TestUnlockedIteratorReadsErasedNode: the reader reads the root pointer
// (node 0), the writer then erases node 0 entirely (the root becomes 1), and
// the reader goes on from node 0: it reads the erased node's fields, returns
// it, and continues by its stale right link. The simulator sees this as a use
// after free through Step.
func TestUnlockedIteratorReadsErasedNode(t *testing.T) {
	sc := scenario{
		name:  "remove 0 from 0->1, iterate all",
		build: twoNodes,
		mutate: func(tree *Tree[int], pool []*Node[int]) (func(Step[int]), *Node[int]) {
			return func(s Step[int]) { tree.Remove(pool[0], s) }, pool[0]
		},
		start: 0, last: 100,
	}
	out, _, visited := sc.run(schedule{At: 2, Stores: 0, Window: 0})
	if !slices.Equal(visited, []int{0, 1}) || !out.freedRead {
		t.Fatalf("visited %v, freed read %v; want 0 1 with a read of the freed node 0", visited, out.freedRead)
	}
}

// TestUnlockedIteratorNullDeref: the reader reads the root (node 0) and its
// __subtree_last; the insert of [15,17] then runs whole, and its left rotation
// at the root (__rb_insert case 3) makes node 0 a leaf [0,5]. The reader
// continues subtree_search from its stale root: 0 satisfies Cond1 but not
// Cond2, and since commit 19811285784f subtree_search then takes rb_right
// without a NULL check. Node 0 has no right child any more: the kernel would
// dereference NULL here.
func TestUnlockedIteratorNullDeref(t *testing.T) {
	sc := scenario{
		name:  "insert [15,17] into 0->1, iterate [15,17]",
		build: twoNodes,
		mutate: func(tree *Tree[int], pool []*Node[int]) (func(Step[int]), *Node[int]) {
			pool[2].Start, pool[2].Last = 15, 17
			return func(s Step[int]) { tree.Insert(pool[2], s) }, nil
		},
		start: 15, last: 17,
	}
	out, _, visited := sc.run(schedule{At: 3, Stores: 0, Window: 0})
	if out.nullDeref != "interval_tree_subtree_search: read node->rb_left" || len(visited) != 0 {
		t.Fatalf("visited %v, NULL dereference at %q; want one at subtree_search's read of node->rb_left", visited, out.nullDeref)
	}
}

// TestReaderSpinsWhileWriterPreempted: inserting [5,7] rotates right at node
// 1 (__rb_insert case 2). After its eighth store, "case 2:
// rb_set_parent_color(parent, node, RB_RED)", node 1's parent is the new node
// 2 and node 2's parent is still node 1 (case 3 fixes it later): a parent
// pointer cycle, which lib/rbtree.c says it does not guard against ("Nor did
// I check for loops involving parent pointers"). A reader on node 1 climbs
// 1 -> 2 -> 1, decides it came up from the left, and returns node 1 again,
// and again: it spins for as long as the writer stays preempted there. Once
// the writer runs on, the reader finishes.
func TestReaderSpinsWhileWriterPreempted(t *testing.T) {
	sc := scenario{
		name:  "insert [5,7] into 0->1, iterate all",
		build: twoNodes,
		mutate: func(tree *Tree[int], pool []*Node[int]) (func(Step[int]), *Node[int]) {
			pool[2].Start, pool[2].Last = 5, 7
			return func(s Step[int]) { tree.Insert(pool[2], s) }, nil
		},
		start: 0, last: 100,
	}
	out, _, visited := sc.run(schedule{At: 0, Stores: 8, Window: -1})
	if !out.spun || !slices.Equal(visited[:5], []int{0, 1, 1, 1, 1}) {
		t.Fatalf("spun %v, visited %v; want 0 then 1 forever", out.spun, visited[:min(len(visited), 5)])
	}
	for _, w := range []int{0, 10, 100, 1000} {
		out, _, visited := sc.run(schedule{At: 0, Stores: 8, Window: w})
		if out.spun || len(visited) > w+3 {
			t.Fatalf("writer resumed after %d reads: spun %v, visited %d nodes", w, out.spun, len(visited))
		}
	}
}

// sweepWindows are the reader reads the writer stays preempted for, once
// it has started, before it runs to its end.
var sweepWindows = []int{0, 1, 2, 4, 8, 16}

// TestUnlockedIteratorInterleavings runs, for trees of 3 to 9 nodes, every
// removal, and inserts and fork-style insert_afters at several keys, against
// an iteration, switching to the writer before every read of the reader and
// pausing it at every store boundary for each of sweepWindows reads. In every
// such schedule the writer finishes, and then the reader must finish too
// (within readBound reads): no interleaving makes it loop forever. The sweep
// must also show the consequences the simulator is for: skipped and
// revisited nodes, reads of an erased node, and NULL dereferences.
func TestUnlockedIteratorInterleavings(t *testing.T) {
	scenarios := sweepScenarios(testing.Short())
	var runs, skips, revisits, freed, nulls, maxReads int
	for _, sc := range scenarios {
		stores, reads := mutationStores(sc), unperturbedReads(sc)
		for at := 0; at <= reads; at++ {
			for k := 0; k <= stores; k++ {
				for _, w := range sweepWindows {
					sched := schedule{At: at, Stores: k, Window: w}
					out, v, visited := sc.run(sched)
					runs++
					if out.spun {
						t.Fatalf("%s, schedule %+v: the reader did not finish in %d reads after the writer did (visited %v...)",
							sc.name, sched, readBound, visited[:20])
					}
					maxReads = max(maxReads, out.reads)
					if out.nullDeref != "" {
						nulls++
						continue
					}
					if len(v.skipped) > 0 {
						skips++
					}
					if len(v.revisited) > 0 {
						revisits++
					}
					if out.freedRead {
						freed++
					}
				}
			}
		}
	}
	t.Logf("%d scenarios, %d schedules: %d skipped a node, %d revisited one, %d read an erased node, %d dereferenced NULL; at most %d reads",
		len(scenarios), runs, skips, revisits, freed, nulls, maxReads)
	if skips == 0 || revisits == 0 || freed == 0 || nulls == 0 {
		t.Fatal("the sweep should show every consequence at least once")
	}
}

// sweepScenarios builds the sweep's trees from a fixed seed.
func sweepScenarios(short bool) []scenario {
	rng := rand.New(rand.NewPCG(3, 4))
	trees := 4
	if short {
		trees = 2
	}
	var out []scenario
	for ti := 0; ti < trees; ti++ {
		keys := make([][2]int, 3+rng.IntN(7))
		for i := range keys {
			s := rng.IntN(12)
			keys[i] = [2]int{s, s + rng.IntN(6)}
		}
		build := func() (*Tree[int], []*Node[int]) { return buildTree(keys...) }
		qs := rng.IntN(10)
		queries := [][2]int{{0, 100}, {qs, qs + 3}}
		for victim := range keys {
			for _, q := range queries {
				out = append(out, scenario{
					name:  fmt.Sprintf("tree %v: remove %d, iterate %v", keys, victim, q),
					build: build,
					mutate: func(tree *Tree[int], pool []*Node[int]) (func(Step[int]), *Node[int]) {
						return func(s Step[int]) { tree.Remove(pool[victim], s) }, pool[victim]
					},
					start: q[0], last: q[1],
				})
			}
		}
		for i := 0; i < 3; i++ {
			s := rng.IntN(14)
			l := s + rng.IntN(6)
			prev := rng.IntN(len(keys))
			for _, q := range queries {
				out = append(out, scenario{
					name:  fmt.Sprintf("tree %v: insert [%d,%d], iterate %v", keys, s, l, q),
					build: build,
					mutate: func(tree *Tree[int], pool []*Node[int]) (func(Step[int]), *Node[int]) {
						n := pool[len(keys)]
						n.Start, n.Last = s, l
						return func(st Step[int]) { tree.Insert(n, st) }, nil
					},
					start: q[0], last: q[1],
				}, scenario{
					name:  fmt.Sprintf("tree %v: insert_after %d, iterate %v", keys, prev, q),
					build: build,
					mutate: func(tree *Tree[int], pool []*Node[int]) (func(Step[int]), *Node[int]) {
						n, p := pool[len(keys)], pool[prev]
						n.Start, n.Last = p.Start, p.Last
						return func(st Step[int]) { tree.InsertAfter(n, p, st) }, nil
					},
					start: q[0], last: q[1],
				})
			}
		}
	}
	return out
}
