package oracle

import (
	"encoding/binary"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// probeSink keeps the probe's load.
var probeSink byte

// hostZeroPage reports whether this machine's kernel maps the shared zero
// page on a read fault of private anonymous memory (do_anonymous_page
// without FAULT_FLAG_WRITE), as upstream kernels do and the model does.
// Some do not (mm_forbids_zeropage, or a vendor's configuration: the
// 6.18.44-fc kernel of a build machine of 2026-12-01 allocates a page, which
// /proc/self/pagemap shows exclusively mapped, with its own pfn). There the
// read fault prepares an anon_vma, so a later fork copies the PTE
// (vma_needs_copy) where the model's child has none. It probes once: a
// read-faulted page that pagemap reports present and exclusively mapped
// (bit 56; the zero page never is) is a page of its own.
var hostZeroPage = sync.OnceValue(func() bool {
	const page = 4096
	b, err := syscall.Mmap(-1, 0, page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return true // cannot tell: assume the upstream behaviour
	}
	defer syscall.Munmap(b)
	probeSink = b[0] // the read fault (a store the compiler keeps)
	addr := uintptr(unsafe.Pointer(&b[0]))
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return true
	}
	defer f.Close()
	var e [8]byte
	if _, err := f.ReadAt(e[:], int64(addr/page*8)); err != nil {
		return true
	}
	v := binary.LittleEndian.Uint64(e[:])
	present, exclusive := v>>63&1 == 1, v>>56&1 == 1
	return !(present && exclusive)
})

// hostZeroPageLimit is the limit a generated program's difference counts
// as on a host without the zero page: a page present in a fork's child on
// the host only (the parent's read-faulted page, copied), "" elsewhere.
func hostZeroPageLimit(kind string) string {
	if kind == "fork: present-host-only" && !hostZeroPage() {
		return "host-no-zero-page (the host kernel allocates a page on a read fault of private anonymous memory, which a fork copies; the model maps the zero page, as upstream does)"
	}
	return ""
}
