package oracle

import (
	"fmt"

	"mmrace/kernelsim"
)

// The host's flag values (uapi/linux/mman.h), sent to the helper as numbers.
const (
	mremapMaymove   = 1
	mremapFixed     = 2
	mremapDontunmap = 4
	madvDontneed    = 4
	madvRandom      = 1
	madvNormal      = 0
)

// hostRequest returns the helper request that runs op o on the host, or
// the reason the host has no counterpart. slot is the slot a fork's child
// will serve; file is the index of o's file. Adding an op is one case here
// (and, if it needs a new system call, one branch in mmhelper.c). The
// helper serves "exit" (the process exits; runHost then reports its mm as
// gone, as modelState does for an exited mm).
//
// MREMAP_MAYMOVE growth without a target is "mremap A N 0 NEWN 1"; the
// helper answers where the kernel put the mapping, usually outside the
// window, and runHost relocates it to where the model places it
// (LIMITS.md).
func hostRequest(o kernelsim.Op, slot, file int) (req, skip string) {
	prot := 0
	if o.Prot&kernelsim.VMRead != 0 {
		prot |= 1
	}
	if o.Prot&kernelsim.VMWrite != 0 {
		prot |= 2
	}
	switch o.Verb {
	case kernelsim.OpMmap:
		if o.File == "" {
			file = -1
		}
		return fmt.Sprintf("mmap %d %d %d %d %d %d", o.Addr, o.Len, prot, b2i(o.Shared), file, o.Pgoff), ""
	case kernelsim.OpMunmap:
		return fmt.Sprintf("munmap %d %d", o.Addr, o.Len), ""
	case kernelsim.OpMprotect:
		return fmt.Sprintf("mprotect %d %d %d", o.Addr, o.Len, prot), ""
	case kernelsim.OpExit:
		return "exit", ""
	case kernelsim.OpMremap:
		if !o.Fixed {
			flags := 0
			if o.MayMove {
				flags = mremapMaymove
			}
			return fmt.Sprintf("mremap %d %d 0 %d %d", o.Addr, o.Len, o.NewLen, flags), ""
		}
		flags := mremapMaymove | mremapFixed
		if o.DontUnmap {
			flags |= mremapDontunmap
		}
		return fmt.Sprintf("mremap %d %d %d %d %d", o.Addr, o.Len, o.NewAddr, o.NewLen, flags), ""
	case kernelsim.OpMadvise:
		return fmt.Sprintf("madvise %d %d %d", o.Addr, o.Len, map[kernelsim.Advice]int{kernelsim.AdvDontneed: madvDontneed, kernelsim.AdvRandom: madvRandom, kernelsim.AdvNormal: madvNormal}[o.Advice]), ""
	case kernelsim.OpPunch:
		return fmt.Sprintf("punch %d %d %d", file, o.Pgoff, o.Len), ""
	case kernelsim.OpFault:
		return fmt.Sprintf("fault %d %d", o.Addr, b2i(o.Write)), ""
	case kernelsim.OpLoad:
		return fmt.Sprintf("load %d", o.Addr), ""
	case kernelsim.OpStore:
		return fmt.Sprintf("store %d %d", o.Addr, o.Value), ""
	case kernelsim.OpFork:
		return fmt.Sprintf("fork %d", slot), ""
	case kernelsim.OpMigrate:
		return "", "migrate: no host counterpart (move_pages needs a second NUMA node); it changes neither layout, presence nor contents"
	case kernelsim.OpReclaim:
		return "", "reclaim: no host counterpart (the host reclaims only under memory pressure); the oracle runs the model's reclaim up to folio_referenced (Kernel.ReclaimInspectOnly), which changes neither layout, presence nor contents"
	case kernelsim.OpKsm:
		return "", "ksm: no host counterpart (ksmd scans on its own schedule); the model's attempt write-protects a page and merges nothing, which changes neither layout, presence nor contents"
	case kernelsim.OpExec:
		return "", "exec: no host counterpart (the model's exec stack set-up makes a new mm); " + o.MM + " exists only in the model"
	}
	return "", fmt.Sprintf("%s: no host counterpart", o.Verb)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
