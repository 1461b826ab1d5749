//go:build ignore

// hugetlb_mremap_pud_deadlock asks the host kernel whether mremap() of a
// shared hugetlb mapping to a PUD-aligned destination that the moved VMA
// covers whole deadlocks on i_mmap_rwsem: move_hugetlb_page_tables()
// holds i_mmap_lock_write(mapping) while huge_pte_alloc() of the new VMA
// sees want_pmd_share() (VM_MAYSHARE, a hugetlb VMA lock, the PUD range
// inside the VMA) and pud_none(), and calls huge_pmd_share(), whose first
// act is i_mmap_lock_read() of the same mapping.
//
// It first moves the mapping to a destination 2 MiB past a PUD boundary
// (no PMD sharing: must succeed), then to a PUD-aligned one. On a kernel
// with the bug the second mremap never returns, and the process stays in
// D state for good (down_read is not killable): run it only on a machine
// you can reboot, with -i-know-it-hangs. It needs 1 GiB of 2 MiB huge
// pages: echo 520 > /proc/sys/vm/nr_hugepages (root).
//
//	go run scripts/kernelbugs/hugetlb_mremap_pud_deadlock.go -i-know-it-hangs
//
// Measured on 2026-12-01 on the host kernel 6.18.44 (x86-64): the
// unaligned move returns and the page moves; the aligned one hangs with
// the mremap thread in huge_pmd_share ← huge_pte_alloc ←
// move_hugetlb_page_tables ← move_page_tables ← copy_vma_and_data ←
// move_vma ← do_mremap (/proc/PID/task/TID/stack). Beware: a hung process
// also hangs every reader of its /proc/PID/cmdline (ps, pgrep), which
// needs its mmap_lock.
package main

import (
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

const (
	gib          = 1 << 30
	mfdHugetlb   = 4 // MFD_HUGETLB
	mremapMayMv  = 1 // MREMAP_MAYMOVE
	mremapFixed  = 2 // MREMAP_FIXED
	sysMemfd     = 319
	hugePageSize = 2 << 20
)

func main() {
	ok := flag.Bool("i-know-it-hangs", false, "run the aligned move, which leaves an unkillable process behind on an affected kernel")
	flag.Parse()
	if !*ok {
		fmt.Fprintln(os.Stderr, "hugetlb_mremap_pud_deadlock: refusing to run without -i-know-it-hangs (see the comment at the top)")
		os.Exit(2)
	}
	if err := move(hugePageSize); err != nil {
		fmt.Fprintln(os.Stderr, "unaligned move:", err)
		os.Exit(2)
	}
	fmt.Println("unaligned move: returned, the page moved")
	done := make(chan error, 1)
	go func() { done <- move(0) }()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintln(os.Stderr, "aligned move:", err)
			os.Exit(2)
		}
		fmt.Println("aligned move: returned, the page moved: this kernel does not have the deadlock")
	case <-time.After(10 * time.Second):
		fmt.Println("aligned move: mremap did not return in 10 s: the deadlock (the process stays in D state)")
		os.Exit(1)
	}
}

// move maps a 1 GiB memfd of huge pages shared at a PUD-aligned address,
// writes its first byte, and moves it with MREMAP_FIXED to the next PUD
// boundary plus off.
func move(off uintptr) error {
	name := []byte("pud\x00")
	fd, _, e := syscall.Syscall(sysMemfd, uintptr(unsafe.Pointer(&name[0])), mfdHugetlb, 0)
	if e != 0 {
		return fmt.Errorf("memfd_create(MFD_HUGETLB): %v", e)
	}
	defer syscall.Close(int(fd))
	if err := syscall.Ftruncate(int(fd), gib); err != nil {
		return fmt.Errorf("ftruncate: %v", err)
	}
	area, _, e := syscall.Syscall6(syscall.SYS_MMAP, 0, 4*gib, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE, ^uintptr(0), 0)
	if e != 0 {
		return fmt.Errorf("mmap of the address range: %v", e)
	}
	src := (area + gib - 1) &^ (gib - 1)
	dst := src + gib + off
	syscall.Syscall(syscall.SYS_MUNMAP, area, 4*gib, 0)
	p, _, e := syscall.Syscall6(syscall.SYS_MMAP, src, gib, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_FIXED, fd, 0)
	if e != 0 {
		return fmt.Errorf("mmap of the hugetlb file (is nr_hugepages >= 512?): %v", e)
	}
	*(*byte)(unsafe.Pointer(p)) = 7
	r, _, e := syscall.Syscall6(syscall.SYS_MREMAP, src, gib, gib, mremapMayMv|mremapFixed, dst, 0)
	if e != 0 {
		return fmt.Errorf("mremap: %v", e)
	}
	defer syscall.Syscall(syscall.SYS_MUNMAP, r, gib, 0)
	if v := *(*byte)(unsafe.Pointer(r)); v != 7 {
		return fmt.Errorf("the moved page reads %d, not 7", v)
	}
	return nil
}
