package kernelsim

import (
	"strings"
	"testing"

	"mmrace/kernelsim/ivtree"
)

type titem struct {
	name string
	rb   ivtree.Node[*titem]
}

// TestITreeOrder: equal keys iterate in insertion order, insert_after puts a
// node right after its parent, the kernel's iterator over the physical tree
// agrees with the logical order, and After compares positions.
func TestITreeOrder(t *testing.T) {
	it := newITree(func(x *titem) *ivtree.Node[*titem] { return &x.rb })
	items := map[string]*titem{}
	mk := func(n string) *titem { items[n] = &titem{name: n}; return items[n] }
	it.Insert(mk("a"), 5, 9, nil)
	it.Insert(mk("b"), 5, 9, nil)
	it.Insert(mk("c"), 3, 9, nil)
	it.InsertAfter(mk("a2"), items["a"], 5, 9, nil)
	it.Insert(mk("d"), 10, 12, nil)
	names := func(xs []*titem) string {
		var s []string
		for _, x := range xs {
			s = append(s, x.name)
		}
		return strings.Join(s, " ")
	}
	if got := names(it.Items()); got != "c a a2 b d" {
		t.Fatalf("order %q, want \"c a a2 b d\"", got)
	}
	if err := it.Verify(); err != nil {
		t.Fatal(err)
	}
	var seen []*titem
	for n := it.IterFirst(5, 5, nil); n != nil; n = ivtree.IterNext(n, 5, 5, nil) {
		seen = append(seen, n.Item)
	}
	if got := names(seen); got != "c a a2 b" {
		t.Fatalf("the iterator saw %q", got)
	}
	if !it.After(items["b"], items["a2"]) || it.After(items["c"], items["a"]) {
		t.Fatal("After is wrong")
	}
	it.Remove(items["a"], nil)
	if got := names(it.Items()); got != "c a2 b d" || it.Verify() != nil {
		t.Fatalf("after remove: %q, %v", got, it.Verify())
	}
}
