package ivtree

import (
	"fmt"
	"slices"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

// Bounds of the generated sequences: small key ranges so that equal starts
// and overlaps are common, and a pool small enough to fill.
const (
	propSeed   = 20240611
	propPool   = 24 // nodes a sequence can use
	propStarts = 16 // Start is in [0, propStarts)
	propLen    = 8  // Last-Start is in [0, propLen)
	propQuery  = 24 // a query starts in [0, propQuery)
)

// TestPropertyReferenceModel runs random sequences of Insert, InsertAfter and
// Remove against a slice kept in iteration order: after every operation
// InOrder equals the slice, Verify passes, Len and InTree agree, and
// IterFirst/IterNext over two random ranges return exactly the overlapping
// items in order. InsertAfter is given prev's Start and a Last no greater
// than prev's, as fork does (see InsertAfter for what happens otherwise).
func TestPropertyReferenceModel(t *testing.T) {
	p := gopter.DefaultTestParametersWithSeed(propSeed)
	p.MinSuccessfulTests = 3000
	if testing.Short() {
		p.MinSuccessfulTests = 500
	}
	p.MinSize, p.MaxSize = 10, 120
	p.Workers = 1 // one worker: generation, and so the run, is deterministic
	props := gopter.NewProperties(p)
	props.Property("ivtree matches a sorted slice", prop.ForAll(checkSequence, gen.SliceOf(gen.UInt32())))
	props.TestingRun(t)
}

// checkSequence decodes each uint32 into one operation and its queries, and
// returns "" or what went wrong first.
func checkSequence(ops []uint32) string {
	pool := make([]*Node[int], propPool)
	for i := range pool {
		pool[i] = &Node[int]{Item: i}
	}
	var tree Tree[int]
	var ref []*Node[int]
	var done []string
	for _, op := range ops {
		b := func(shift, mod uint32) int { return int(op>>shift) % int(mod) }
		free := slices.DeleteFunc(slices.Clone(pool), func(n *Node[int]) bool { return n.inTree })
		kind := b(0, 10)
		switch {
		case (kind < 5 || len(ref) == 0) && len(free) > 0:
			n := free[b(4, uint32(len(free)))]
			n.Start = b(9, propStarts)
			n.Last = n.Start + b(13, propLen)
			tree.Insert(n, nil)
			i := len(ref)
			for i > 0 && ref[i-1].Start > n.Start {
				i--
			}
			ref = slices.Insert(ref, i, n)
			done = append(done, fmt.Sprintf("insert %d [%d,%d]", n.Item, n.Start, n.Last))
		case kind < 7 && len(ref) > 0 && len(free) > 0:
			prev := ref[b(4, uint32(len(ref)))]
			n := free[b(9, uint32(len(free)))]
			n.Start = prev.Start
			n.Last = prev.Start + b(14, uint32(prev.Last-prev.Start+1))
			tree.InsertAfter(n, prev, nil)
			ref = slices.Insert(ref, slices.Index(ref, prev)+1, n)
			done = append(done, fmt.Sprintf("insert_after %d %d [%d,%d]", n.Item, prev.Item, n.Start, n.Last))
		case len(ref) > 0:
			i := b(4, uint32(len(ref)))
			n := ref[i]
			tree.Remove(n, nil)
			ref = slices.Delete(ref, i, i+1)
			done = append(done, fmt.Sprintf("remove %d", n.Item))
		default:
			continue
		}
		if msg := checkTree(&tree, ref, pool, b(18, propQuery), b(23, 10), b(27, propQuery)); msg != "" {
			return fmt.Sprintf("after %v: %s", done, msg)
		}
	}
	return ""
}

// checkTree compares tree with the reference order ref and runs the queries
// [s1, s1+l1] and [s2, s2+2].
func checkTree(tree *Tree[int], ref, pool []*Node[int], s1, l1, s2 int) string {
	if err := tree.Verify(); err != nil {
		return err.Error()
	}
	if got := tree.InOrder(); !slices.Equal(got, ref) {
		return fmt.Sprintf("InOrder %v, want %v", items(got), items(ref))
	}
	if tree.Len() != len(ref) {
		return fmt.Sprintf("Len %d, want %d", tree.Len(), len(ref))
	}
	for _, n := range pool {
		if n.InTree() != slices.Contains(ref, n) {
			return fmt.Sprintf("node %d: InTree %v", n.Item, n.InTree())
		}
	}
	for _, q := range [][2]int{{s1, s1 + l1}, {s2, s2 + 2}, {0, propStarts + propLen}} {
		var want []*Node[int]
		for _, n := range ref {
			if n.Start <= q[1] && q[0] <= n.Last {
				want = append(want, n)
			}
		}
		var got []*Node[int]
		for n := tree.IterFirst(q[0], q[1], nil); n != nil && len(got) <= len(ref); n = IterNext(n, q[0], q[1], nil) {
			got = append(got, n)
		}
		if !slices.Equal(got, want) {
			return fmt.Sprintf("iteration over [%d,%d]: %v, want %v", q[0], q[1], items(got), items(want))
		}
	}
	return ""
}

// items lists the nodes' items, for messages.
func items(ns []*Node[int]) []int {
	out := make([]int, len(ns))
	for i, n := range ns {
		out[i] = n.Item
	}
	return out
}
