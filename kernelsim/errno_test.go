package kernelsim

import (
	"errors"
	"testing"
)

func TestErrno(t *testing.T) {
	for err, want := range map[error]string{
		nil: "",
		errors.New("mremap: EFAULT: [0x10,0x12) is not inside one VMA"):   "EFAULT",
		errors.New("fault 0x10: SIGSEGV"):                                 "SIGSEGV",
		errors.New("mremap: EINVAL: MREMAP_DONTUNMAP needs a fixed move"): "EINVAL",
		errors.New("mmap: range 0x1ff+2 outside the address space"):       "error",
	} {
		if got := Errno(err); got != want {
			t.Errorf("Errno(%v) = %q, want %q", err, got, want)
		}
	}
}
