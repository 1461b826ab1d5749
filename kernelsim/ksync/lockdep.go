package ksync

import (
	"fmt"
	"math/bits"
	"strings"
	"sync"

	"mmrace/kernelsim/sched"
)

// node is a lockdep graph vertex: a class and a nesting subclass.
type node uint16

func nodeOf(c *Class, sub int) node { return node(c.ID*MaxSubclass + sub) }

const maxNodes = MaxClasses * MaxSubclass

// Lockdep is a lockdep-style dependency graph: an edge A → B means some task
// took a lock of class B while holding one of class A. Adding an edge that
// closes a cycle is reported even when no deadlock happened. One graph may be
// shared by every run of a process (Config.Lockdep) so that dependencies seen
// in different runs and tasks combine; it is safe for concurrent use.
type Lockdep struct {
	mu      sync.Mutex
	adj     [maxNodes][maxNodes / 64]uint64
	edges   []edge // in the order they were added, with their witnesses
	edgeArr [24]edge
	classes [MaxClasses]*Class // by ID, for the names of nodes on edges
}

// edge is a dependency with the task and site that first showed it.
type edge struct {
	a, b node
	task int
	site string
}

// NewLockdep returns an empty dependency graph.
func NewLockdep() *Lockdep {
	g := &Lockdep{}
	g.edges = g.edgeArr[:0] // the edges of a run fit without another allocation
	return g
}

// witness is "tN in site" for the edge a → b.
func (g *Lockdep) witness(a, b node) string {
	for _, e := range g.edges {
		if e.a == a && e.b == b {
			return sched.TaskName(e.task) + " in " + e.site
		}
	}
	return "?"
}

func (g *Lockdep) has(a, b node) bool { return g.adj[a][b/64]&(1<<(b%64)) != 0 }

// name is the lockdep name of node n: its class, and the subclass if any.
func (g *Lockdep) name(n node) string {
	c := g.classes[int(n)/MaxSubclass]
	if c == nil {
		return fmt.Sprintf("node#%d", n)
	}
	return nodeName(c, int(n)%MaxSubclass)
}

// addEdge records a → b (nodes of classes ac and bc), first seen by task t
// in site. It returns a report when the edge would close a cycle (the edge
// is then not added, so every run that takes the inverted order reports it
// again). An edge seen before costs a bit test; the texts of the report are
// made only for a report.
func (g *Lockdep) addEdge(a, b node, ac, bc *Class, t *sched.Task, site string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.has(a, b) {
		return ""
	}
	g.classes[ac.ID], g.classes[bc.ID] = ac, bc
	if path := g.path(b, a); path != nil {
		var chain []string
		for i := 0; i+1 < len(path); i++ {
			chain = append(chain, fmt.Sprintf("%s → %s (%s)", g.name(path[i]), g.name(path[i+1]), g.witness(path[i], path[i+1])))
		}
		return fmt.Sprintf("possible circular locking dependency: %s in %s takes %s while holding %s; existing chain: %s",
			t.Name(), site, g.name(b), g.name(a), strings.Join(chain, ", "))
	}
	g.adj[a][b/64] |= 1 << (b % 64)
	g.edges = append(g.edges, edge{a: a, b: b, task: t.ID(), site: site})
	return ""
}

// path returns a path of nodes from -> ... -> to, or nil (breadth first, so
// the reported chain is a shortest one).
func (g *Lockdep) path(from, to node) []node {
	var prev [maxNodes]int16
	for i := range prev {
		prev[i] = -1
	}
	prev[from] = int16(from)
	var buf [maxNodes]node // every node is queued at most once
	queue := append(buf[:0], from)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == to {
			var p []node
			for x := to; ; x = node(prev[x]) {
				p = append(p, x)
				if x == from {
					break
				}
			}
			for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
				p[i], p[j] = p[j], p[i]
			}
			return p
		}
		for w := 0; w < maxNodes/64; w++ {
			set := g.adj[n][w]
			for set != 0 {
				i := bits.TrailingZeros64(set)
				set &= set - 1
				m := node(w*64 + i)
				if prev[m] < 0 {
					prev[m] = int16(n)
					queue = append(queue, m)
				}
			}
		}
	}
	return nil
}

// Edges returns the number of dependencies recorded.
func (g *Lockdep) Edges() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.edges)
}
