package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Swap, as small as reclaim needs it. A swap entry (PTESwap) names the
// folio it was unmapped from; the folio is the swap cache's page for as
// long as any swap entry names it (Folio.swapped counts them, the swap
// slot's swap_map count), pinned by the swap cache, and keeps the data:
// there is no pageout I/O and no swap-in of a fresh folio. A folio in the
// swap cache is not migrated: its refcount freeze fails on the swap
// cache's reference (folio_migrate_mapping of a swap-cache folio, which
// the kernel can do, is left out).

// addToSwap is add_to_swap(): the folio joins the swap cache (which pins
// it). Called with the folio locked.
func (k *Kernel) addToSwap(t *sched.Task, f *Folio) {
	f.refMu.Lock()
	added := !f.swapCache
	if added {
		f.swapCache = true
		f.pins++
	}
	f.refMu.Unlock()
	if added {
		t.Record(sched.KindNote, f.name, "add_to_swap", "in the swap cache")
	}
}

// swapDup is swap_duplicate(): one more swap entry names f.
func (f *Folio) swapDup() {
	f.refMu.Lock()
	f.swapped++
	f.refMu.Unlock()
}

// swapFree is swap_free() / free_swap_and_cache(): one swap entry of f
// went. With the last one, a caller that holds the folio lock lets the
// swap cache drop the folio (folio_free_swap); one that does not tries the
// lock (__try_to_reclaim_swap's folio_trylock) and otherwise leaves the
// folio to the lock's holder, who drops it before unlocking
// (swapCacheTrim). Dropped from the swap cache, the folio is freed when
// nothing else holds it.
func (k *Kernel) swapFree(t *sched.Task, f *Folio, locked bool, site string) {
	f.refMu.Lock()
	f.swapped--
	n := f.swapped
	f.refMu.Unlock()
	switch {
	case n < 0:
		t.Fail(sched.Violation{Invariant: "mapcount-rss", Detail: fmt.Sprintf("%s: the swap count of %s went negative", site, f.name)})
	case n > 0:
	case locked:
		k.swapCacheTrim(t, f, site)
	case f.lock.Trylock(t, "__try_to_reclaim_swap"):
		k.swapCacheTrim(t, f, site)
		f.lock.Unlock(t, "__try_to_reclaim_swap")
	}
}

// swapCacheTrim deletes f from the swap cache when no swap entry names it
// (delete_from_swap_cache after a failed try_to_unmap, or once the last
// swap entry was freed). The caller holds the folio lock: every path that
// locks an anon folio calls it before unlocking, so that a folio whose
// last swap entry went while it was locked leaves the swap cache.
func (k *Kernel) swapCacheTrim(t *sched.Task, f *Folio, site string) {
	f.refMu.Lock()
	drop := f.swapCache && f.swapped == 0
	if drop {
		f.swapCache = false
	}
	f.refMu.Unlock()
	if drop {
		k.unpin(t, f, site)
	}
}

// DrainSwapCache frees the folios left in the swap cache with no swap entry
// naming them: a swap entry freed while another task held the folio lock
// (__try_to_reclaim_swap's trylock failed) leaves its folio there, a clean
// swap-cache page the kernel's reclaim frees later. The harness calls it
// after every mm exited, before the leak checks; a folio still named by a
// swap entry stays (and is a leak).
func (k *Kernel) DrainSwapCache(t *sched.Task) {
	for _, f := range k.Folios() {
		if f.anon && !f.freed {
			k.swapCacheTrim(t, f, "shrink_folio_list (swap cache)")
		}
	}
}

// inSwapCache is folio_test_swapcache.
func (f *Folio) inSwapCache() bool {
	f.refMu.Lock()
	defer f.refMu.Unlock()
	return f.swapCache
}

// Swapped returns how many swap entries name the folio.
func (f *Folio) Swapped() int {
	f.refMu.Lock()
	defer f.refMu.Unlock()
	return f.swapped
}

// doSwapPage mirrors do_swap_page() for a swap entry (whose folio is in the
// swap cache: always, here): look the folio up and take a reference
// (swap_cache_get_folio under RCU, folio_try_get), lock it
// (folio_lock_or_retry: contended on a first attempt, the fault lock is
// dropped, the folio waited for and the fault retried), re-check under the
// PTL that the entry is unchanged, map the folio's page (of a large folio
// that one page, as before v6.10: since v6.10 a large folio all of whose
// pages are still its swap entries in place is mapped whole in one PTL
// section, and one page when not; the model maps a page at a time always,
// a path of the kernel's too) (writable for a write
// fault when it is exclusive: nothing maps it and this was its only swap
// entry; otherwise the write takes a COW fault next), free the swap entry.
func (k *Kernel) doSwapPage(t *sched.Task, v *VMA, addr int, ff faultFlags, orig *PTE) FaultResult {
	const site = "do_swap_page"
	m := v.mm
	f := orig.Folio
	rcu := k.Env.RCU()
	rcu.ReadLock(t, "swap_cache_get_folio")
	t.Point(sched.KindRead, f.name, "swap_cache_get_folio", "folio_try_get")
	// The entry names the folio as a swap entry names its slot: the lookup
	// is by slot, so a slot freed meanwhile (the entry zapped, the folio
	// freed) finds nothing inside the read section, which keeps the swap
	// cache's folio memory valid; folio_try_get fails on a folio being
	// freed.
	k.useRCU(t, &f.Obj, "swap_cache_get_folio")
	ok := f.tryPin()
	rcu.ReadUnlock(t, "swap_cache_get_folio")
	if !ok {
		return FaultDone // the entry went meanwhile: the access retries
	}
	defer k.unpin(t, f, site)
	if !f.lock.Trylock(t, "folio_lock_or_retry") {
		if ff&faultTried == 0 {
			releaseFaultLock(t, v, ff, "folio_lock_or_retry")
			f.lock.WaitUnlocked(t, "__folio_lock_or_retry")
			return FaultRetry
		}
		f.lock.Lock(t, "__folio_lock_or_retry")
	}
	// Locked, the folio must still be the swap cache's (a swap entry freed
	// meanwhile may have let the swap cache drop it): else look again.
	if !f.inSwapCache() {
		f.lock.Unlock(t, site)
		return FaultDone
	}
	tbl, i := k.pteOffsetMapLock(t, m, addr, site)
	if tbl == nil || tbl.e[i].Load() != orig {
		if tbl != nil {
			k.pteUnmapUnlock(t, tbl, site)
		}
		f.lock.Unlock(t, site)
		return FaultDone
	}
	f.refMu.Lock()
	exclusive := f.swapped == 1 && f.mapcount.Load() == 0
	f.refMu.Unlock()
	read, _ := ptePerms(v, f, false)
	write := ff&faultWrite != 0 && v.Flags()&VMWrite != 0 && exclusive
	f.mapcount.Add(1) // folio_add_anon_rmap_pte: the folio keeps its anon_vma
	m.rssAnon.Add(1)
	m.rssSwap.Add(-1)
	k.setPTE(t, m, tbl, i, addr, &PTE{Kind: PTEPresent, Folio: f, Page: orig.Page, Read: read, Write: write, ID: orig.ID}, site)
	k.swapFree(t, f, true, site)
	k.pteUnmapUnlock(t, tbl, site)
	f.lock.Unlock(t, site)
	return FaultDone
}
