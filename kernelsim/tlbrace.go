package kernelsim

import "mmrace/kernelsim/sched"

// User accesses racing with a flush still owed (the memory log's view of
// a stale translation).
//
// Between the step where a task reduces a translation (clears a PTE, moves
// it, points it at a copy) and the step where it flushes, another CPU may
// still use the translation it cached: a load or store through it reaches
// the old folio. In the kernel that access is part of the race with the
// operation in progress: it happened, as far as the program can tell,
// before the PTE changed. The memory log must say so, or the replay
// (invariants.MemoryContents) judges the access against memory that the
// operation has already moved or zeroed: a store through the stale
// translation of a page that mremap is moving, or that MADV_DONTNEED is
// zapping, would read as a store after the move or the zap, and the next
// load of the new address (or the fresh page) as a lost store. Both are
// faithful-kernel false positives.
//
// So an access through a cached translation whose PTE no longer maps the
// folio (none, a migration entry for another folio, another folio), while
// some task owes the page a flush, is logged where the race puts it: when
// the folio is now mapped at another address of the mm (a move), as an
// access to that address, where the data is now; otherwise in the memory
// log just before the events of the reduction that made it stale (the
// zap's fresh page, the move's copy), as of the step of the reduction.
// An access through a translation nobody owes a flush any more (a flush
// that was removed, or deferred past the op's end) is logged as it
// happens: the operation returned, the access is no race but a
// consequence.
//
// An access to a shared file page through a stale translation is logged
// as it happens while the folio is still the page cache's (the data stays
// the file's, whoever maps it); once a hole punch took the folio out of
// the page cache, it is placed as above: a load through a translation
// munmap has not flushed yet, of a page punched meanwhile, read the file
// as it was before the munmap's zap.
//
// A write-protection (mprotect, fork's COW) changes no folio: a store
// through the stale writable translation lands where the PTE still
// points, and is logged as it happens (the child's memory is the
// parent's as of fork's flush).

// logUserMem logs the memory event e of a user access by t to m's page
// addr that reached page pg of f; hit says it went through a cached
// translation, or through a cached PMD entry (a walk-cache entry) into a
// table that may no longer be where it was.
//
// since is the memory log's length when the translation was cached (-1:
// unknown, a walk through a cached PMD entry): the access is placed before
// the first reduction owed a flush after that, the one that made the
// translation stale, not before a later one (a second MADV_DONTNEED of a
// page faulted in again meanwhile, whose fresh contents another task may
// already have read).
func (k *Kernel) logUserMem(t *sched.Task, hit bool, since int, m *MM, addr int, f *Folio, pg int, e MemEvent) {
	if !hit || (e.Backing.Shared && f.file.CachedFolio(f.index) == f) || mapsFolio(m.Walk(addr), f, pg) {
		k.logMem(t, e)
		return
	}
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	p := k.owedReduction(m, addr, since)
	if p == nil {
		k.logMem(t, e)
		return
	}
	if alt := m.addrOf(f, pg); alt >= 0 {
		e.Addr = alt
		k.logMem(t, e)
		return
	}
	e.Step, e.Task = t.Step(), t.ID()
	at := p.memAt
	k.mu.Lock()
	k.mem = append(k.mem, MemEvent{})
	copy(k.mem[at+1:], k.mem[at:])
	k.mem[at] = e
	k.mu.Unlock()
	for i := range k.tlb.pending {
		for j := range k.tlb.pending[i] {
			if q := &k.tlb.pending[i][j]; q.memAt >= at {
				q.memAt++
			}
		}
	}
	for i := range k.tlb.per {
		for j := range k.tlb.per[i] {
			if q := &k.tlb.per[i][j]; q.memAt > at {
				q.memAt++
			}
		}
	}
}

// mapsFolio reports whether PTE p still gives the mm's page to page pg of
// f: present and mapping it (f nil: the zero page), or a migration entry
// for it.
func mapsFolio(p *PTE, f *Folio, pg int) bool {
	if p == nil || p.Folio != f || (f != nil && p.Page != pg) {
		return false
	}
	return p.Kind == PTEPresent || (p.Kind == PTEMigration && f != nil)
}

// owedReduction returns the reduction of m's page addr that a task still
// owes a flush and that made a translation cached when the memory log had
// since events stale: the first one at or after since; the most recent one
// when there is none such or since is -1; nil when none is owed. The
// caller holds k.tlb.mu.
func (k *Kernel) owedReduction(m *MM, addr int, since int) *flushRange {
	var latest, first *flushRange
	for i := range k.tlb.pending {
		for j := range k.tlb.pending[i] {
			p := &k.tlb.pending[i][j]
			if p.mm != m || addr < p.start || addr >= p.end {
				continue
			}
			if latest == nil || p.memAt > latest.memAt {
				latest = p
			}
			if since >= 0 && p.memAt >= since && (first == nil || p.memAt < first.memAt) {
				first = p
			}
		}
	}
	if first != nil {
		return first
	}
	return latest
}

// addrOf returns the address of m whose PTE (or PMD leaf) maps page pg
// of the anon or file folio f (present or a migration entry), or -1.
func (m *MM) addrOf(f *Folio, pg int) int {
	if f == nil {
		return -1
	}
	at := -1
	m.ForEachPTE(func(addr int, tbl *PTETable, p *PTE) {
		if tbl == nil { // a PMD leaf, reported once at its base
			p, addr = p.pageOf(pg), addr+pg
		}
		if at < 0 && mapsFolio(p, f, pg) {
			at = addr
		}
	})
	return at
}

// memLen is the memory log's length.
func (k *Kernel) memLen() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.mem)
}
