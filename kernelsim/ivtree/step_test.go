package ivtree

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// word is one thing a store can change: a node's __rb_parent_color ("pc"),
// rb_left ("l"), rb_right ("r") or __subtree_last ("sub"), or the tree's root
// or leftmost (node nil).
type word struct {
	node  *Node[int]
	field string
}

// snapshot is every word of a tree and its pool of nodes.
type snapshot struct {
	nodes          []Node[int]
	root, leftmost *Node[int]
}

func takeSnapshot(tree *Tree[int], pool []*Node[int]) snapshot {
	s := snapshot{nodes: make([]Node[int], len(pool)), root: tree.root, leftmost: tree.leftmost}
	for i, n := range pool {
		s.nodes[i] = *n
	}
	return s
}

// changed lists the words that differ between a and b.
func changed(a, b snapshot, pool []*Node[int]) []word {
	var out []word
	if a.root != b.root {
		out = append(out, word{nil, "root"})
	}
	if a.leftmost != b.leftmost {
		out = append(out, word{nil, "leftmost"})
	}
	for i, n := range pool {
		x, y := a.nodes[i], b.nodes[i]
		if x.pc != y.pc {
			out = append(out, word{n, "pc"})
		}
		if x.left != y.left {
			out = append(out, word{n, "l"})
		}
		if x.right != y.right {
			out = append(out, word{n, "r"})
		}
		if x.subtreeLast != y.subtreeLast {
			out = append(out, word{n, "sub"})
		}
	}
	return out
}

// storeChecker is a Step hook that checks that between two calls at most one
// word changed, and that it is the word the earlier call announced.
type storeChecker struct {
	tree      *Tree[int]
	pool      []*Node[int]
	prev      snapshot
	announced *word // nil before the first call
	what      string
	calls     int
	stores    int // words that changed
	err       error
}

func (c *storeChecker) step(n *Node[int], what string) {
	c.check()
	f := accessField(what)
	if f == "?" || (f != "link" && (n == nil) != (f == "root" || f == "leftmost")) {
		c.fail(fmt.Errorf("Step(%v, %q) does not name a store to a word", n != nil, what))
	}
	c.announced, c.what = &word{n, f}, what
	c.calls++
}

// check compares the tree with the snapshot taken at the previous call.
func (c *storeChecker) check() {
	cur := takeSnapshot(c.tree, c.pool)
	diff := changed(c.prev, cur, c.pool)
	c.prev = cur
	c.stores += len(diff)
	switch {
	case len(diff) == 0:
	case len(diff) > 1:
		c.fail(fmt.Errorf("%d words changed after Step %q, at most one may", len(diff), c.what))
	case c.announced == nil:
		c.fail(fmt.Errorf("a store before the first Step"))
	default:
		a, d := *c.announced, diff[0]
		if a.field == "link" {
			if a.node == nil {
				a.field = "root"
			} else {
				a.field = d.field // rb_link_node's *rb_link: l or r of parent
				if d.field != "l" && d.field != "r" {
					a.field = "l or r"
				}
			}
		}
		if a != d {
			c.fail(fmt.Errorf("Step %q announced %s, but %s changed", c.what, describe(a), describe(d)))
		}
	}
}

func (c *storeChecker) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

func describe(w word) string {
	if w.node == nil {
		return w.field
	}
	return fmt.Sprintf("node %d's %s", w.node.Item, w.field)
}

// TestStepBeforeEveryStore runs random sequences of mutations with a Step
// hook that snapshots the whole tree at every call: between two calls (and
// between the last call and the return) at most one word may change, and
// only the one the earlier call announced. So no store escapes the hook and
// every hook names its store. Iterations are run too, and must change nothing.
func TestStepBeforeEveryStore(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	calls, stores := 0, 0
	for seq := 0; seq < 120; seq++ {
		pool := make([]*Node[int], 20)
		for i := range pool {
			pool[i] = &Node[int]{Item: i}
		}
		var tree Tree[int]
		for op := 0; op < 80; op++ {
			c := &storeChecker{tree: &tree, pool: pool, prev: takeSnapshot(&tree, pool)}
			desc := randomMutation(rng, &tree, pool, c.step)
			c.check()
			if c.err != nil {
				t.Fatalf("sequence %d, %s: %v", seq, desc, c.err)
			}
			calls, stores = calls+c.calls, stores+c.stores

			before := takeSnapshot(&tree, pool)
			s := rng.IntN(20)
			l := s + rng.IntN(8)
			for n := tree.IterFirst(s, l, nil); n != nil; n = IterNext(n, s, l, nil) {
			}
			if d := changed(before, takeSnapshot(&tree, pool), pool); len(d) != 0 {
				t.Fatalf("sequence %d: an iteration changed %s", seq, describe(d[0]))
			}
		}
	}
	if stores == 0 || calls < stores {
		t.Fatalf("%d Step calls for %d stores that changed a word", calls, stores)
	}
	t.Logf("%d Step calls, %d of them before a store that changed a word", calls, stores)
}

// randomMutation applies a random Insert, InsertAfter (with prev's Start and
// a Last within prev's) or Remove to tree, and describes it.
func randomMutation(rng *rand.Rand, tree *Tree[int], pool []*Node[int], step Step[int]) string {
	var free []*Node[int]
	for _, n := range pool {
		if !n.inTree {
			free = append(free, n)
		}
	}
	in := tree.InOrder()
	k := rng.IntN(10)
	switch {
	case (k < 5 || len(in) == 0) && len(free) > 0:
		n := free[rng.IntN(len(free))]
		n.Start = rng.IntN(16)
		n.Last = n.Start + rng.IntN(8)
		tree.Insert(n, step)
		return fmt.Sprintf("insert %d [%d,%d]", n.Item, n.Start, n.Last)
	case k < 7 && len(free) > 0:
		prev := in[rng.IntN(len(in))]
		n := free[rng.IntN(len(free))]
		n.Start, n.Last = prev.Start, prev.Start+rng.IntN(prev.Last-prev.Start+1)
		tree.InsertAfter(n, prev, step)
		return fmt.Sprintf("insert_after %d %d [%d,%d]", n.Item, prev.Item, n.Start, n.Last)
	default:
		n := in[rng.IntN(len(in))]
		tree.Remove(n, step)
		return fmt.Sprintf("remove %d", n.Item)
	}
}
