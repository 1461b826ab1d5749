package kernelsim

import (
	"fmt"
	"sort"
	"strings"
)

// Variant is one historical bug or plausible regression, switched on at the
// exact place where the kernel's safeguard lives. The faithful kernel is the
// empty set.
type Variant struct {
	Name      string // <kernel-symbol>-<defect>
	Function  string // the kernel function whose safeguard it removes
	KernelRef string // reference section and commit or thread
	Removes   string // what the variant leaves out
}

// AllVariants lists every variant the model knows, in a stable order.
var AllVariants = []Variant{
	{
		Name:      "dup_mmap-no-parent-vma-write-lock",
		Function:  "kernel/fork.c dup_mmap()",
		KernelRef: "D.12c, fb49c455323f \"fork: lock VMAs of the parent process when forking\" (bugzilla 217624)",
		Removes:   "vma_start_write() of each parent VMA, so a VMA-lock fault in the parent runs concurrently with the copy",
	},
	{
		Name:      "mmap-vma-lock-after-i_mmap",
		Function:  "mm/vma.c __mmap_new_vma() / vma_link_file()",
		KernelRef: "D.11a, 1c7873e33645 \"mm: lock newly mapped VMA with corrected ordering\"",
		Removes:   "the order vma_start_write(new) before i_mmap_lock_write(): the new VMA is write-locked under i_mmap_rwsem",
	},
	{
		Name:      "vmf_anon_prepare-blocking-mmap-lock",
		Function:  "mm/memory.c vmf_anon_prepare()",
		KernelRef: "D.11b, B.2: a VMA-locked fault may only trylock mmap_lock",
		Removes:   "the mmap_read_trylock(): the fault blocks on mmap_lock while holding the VMA read lock",
	},
}

// TestOnlyVariants are deliberately broken paths used to show that a test
// can fail (the state-machine property's must-fail case); they model no
// kernel bug and are not listed by mmrace variants.
var TestOnlyVariants = []Variant{
	{
		Name:      "test-mprotect-skips-vm_flags",
		Function:  "mm/mprotect.c mprotect_fixup()",
		KernelRef: "none (test only)",
		Removes:   "the vm_flags update: the VMA keeps its old protection",
	},
}

// Variants is a set of variant names.
type Variants map[string]bool

// Has reports whether variant name is on.
func (v Variants) Has(name string) bool { return v[name] }

// Names returns the variant names in sorted order.
func (v Variants) Names() []string {
	var out []string
	for n, on := range v {
		if on {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func (v Variants) String() string {
	if len(v.Names()) == 0 {
		return "faithful"
	}
	return strings.Join(v.Names(), ",")
}

// LookupVariant returns the variant named name.
func LookupVariant(name string) (Variant, bool) {
	for _, v := range append(AllVariants[:len(AllVariants):len(AllVariants)], TestOnlyVariants...) {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// ParseVariants reads a comma-separated list of variant names; empty means
// the faithful kernel.
func ParseVariants(s string) (Variants, error) {
	v := Variants{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" || n == "faithful" {
			continue
		}
		if _, ok := LookupVariant(n); !ok {
			var names []string
			for _, a := range AllVariants {
				names = append(names, a.Name)
			}
			return nil, fmt.Errorf("unknown variant %q (known: %s)", n, strings.Join(names, ", "))
		}
		v[n] = true
	}
	return v, nil
}
