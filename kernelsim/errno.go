package kernelsim

import (
	"slices"
	"strings"
)

// errnoWords are the words an op's error may carry to say what the kernel
// returns: an errno, or the signal a user access raised.
var errnoWords = []string{"EINVAL", "ENOMEM", "EFAULT", "EAGAIN", "EPERM", "EEXIST", "EBUSY", "EACCES", "ESRCH", "SIGSEGV", "SIGBUS"}

// Errno classifies the error Kernel.Exec returned: "" for success, the
// errno word the error names ("EINVAL", "ENOMEM", ...), "SIGSEGV" or
// "SIGBUS" for an access that raised the signal, and "error" for a refusal
// that names none (an op outside what the model represents).
func Errno(err error) string {
	if err == nil {
		return ""
	}
	for _, w := range strings.FieldsFunc(err.Error(), func(r rune) bool { return r < 'A' || r > 'Z' }) {
		if slices.Contains(errnoWords, w) {
			return w
		}
	}
	return "error"
}
