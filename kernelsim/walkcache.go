package kernelsim

// walkCache is one level of the paging-structure caches, per task (per
// CPU): the upper-level entries its walks read, each m's table (*T) for
// the range of the level's span at base. The PMD level caches PTE tables
// (tlbpsc.go), the PUD level PMD tables (tlbpud.go). The caller holds
// k.tlb.mu.
type walkCache[T any] [maxTLBTasks][]walkCacheEntry[T]

// walkCacheEntry is one cached entry.
type walkCacheEntry[T any] struct {
	mm   *MM
	base int
	to   *T
}

// lookup returns task's cached table for m's range at base.
func (c *walkCache[T]) lookup(task int, m *MM, base int) (*T, bool) {
	for _, e := range c[task] {
		if e.mm == m && e.base == base {
			return e.to, true
		}
	}
	return nil, false
}

// fill caches to as task's entry for m's range at base.
func (c *walkCache[T]) fill(task int, m *MM, base int, to *T) {
	for i, e := range c[task] {
		if e.mm == m && e.base == base {
			c[task][i].to = to
			return
		}
	}
	c[task] = append(c[task], walkCacheEntry[T]{mm: m, base: base, to: to})
}

// flush drops every task's entries of m whose range (span pages) meets
// [start, end).
func (c *walkCache[T]) flush(m *MM, span, start, end int) {
	for i, es := range c {
		keep := es[:0]
		for _, e := range es {
			if e.mm != m || e.base+span <= start || e.base >= end {
				keep = append(keep, e)
			}
		}
		c[i] = keep
	}
}

// drop drops task's entry for m's range at base.
func (c *walkCache[T]) drop(task int, m *MM, base int) {
	keep := c[task][:0]
	for _, e := range c[task] {
		if e.mm != m || e.base != base {
			keep = append(keep, e)
		}
	}
	c[task] = keep
}
