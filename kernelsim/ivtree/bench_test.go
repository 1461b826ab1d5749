package ivtree

import (
	"testing"
	"time"
)

// BenchmarkInsertRemove measures one Insert and one Remove with a nil Step on
// an 8-node pool whose tree holds 7 nodes between them (8 during), cycling
// the inserted key and the victim over every position. In the same run it
// times the same work with a counting Step hook and reports the quotient as
// x-nil-step, and the hook calls per Insert+Remove (the scheduling points
// the simulator would add) as steps/op.
func BenchmarkInsertRemove(b *testing.B) {
	const size = 8
	pool := make([]*Node[int], size)
	var tree Tree[int]
	for i := range pool {
		pool[i] = &Node[int]{Item: i, Start: 3 * i, Last: 3*i + 4}
		if i > 0 {
			tree.Insert(pool[i], nil)
		}
	}
	free := pool[0]
	cycle := func(i int, step Step[int]) {
		in := free
		in.Start = (7 * i) % (3 * size)
		in.Last = in.Start + i%5
		tree.Insert(in, step)
		out := pool[i%size]
		if out == in {
			out = pool[(i+1)%size]
		}
		tree.Remove(out, step)
		free = out
	}
	steps := 0
	count := func(*Node[int], string) { steps++ }

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		cycle(i, nil)
	}
	plain := time.Since(start)
	b.StopTimer()

	start = time.Now()
	for i := 0; i < b.N; i++ {
		cycle(i, count)
	}
	hooked := time.Since(start)
	if err := tree.Verify(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(steps)/float64(b.N), "steps/op")
	b.ReportMetric(float64(hooked)/float64(plain), "x-nil-step")
}
