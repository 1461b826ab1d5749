/* The few mm types that mm/interval_tree.c needs, reduced to the fields it
 * touches, and the declarations of the functions it defines; written for the
 * mmrace ivtree harness. vma_start_pgoff/vma_last_pgoff read the harness's
 * own start/last fields. */
#ifndef IVHARNESS_MM_H
#define IVHARNESS_MM_H
#include <linux/rbtree.h>

typedef unsigned long pgoff_t;

struct vm_area_struct {
	int id;
	pgoff_t start, last;
	struct {
		struct rb_node rb;
		unsigned long rb_subtree_last;
	} shared;
};

struct address_space {
	struct rb_root_cached i_mmap;
};

struct anon_vma {
	struct rb_root_cached rb_root;
};

struct anon_vma_chain {
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;
	struct rb_node rb;
	unsigned long rb_subtree_last;
};

static inline pgoff_t vma_start_pgoff(struct vm_area_struct *vma)
{
	return vma->start;
}

static inline pgoff_t vma_last_pgoff(struct vm_area_struct *vma)
{
	return vma->last;
}

/* A debug warning in the kernel; the harness tests the mismatch on purpose. */
#define VM_WARN_ON_ONCE_VMA(cond, vma) ((void)(cond))

void mapping_rmap_tree_insert(struct vm_area_struct *vma,
			      struct address_space *mapping);
void mapping_rmap_tree_insert_after(struct vm_area_struct *vma,
				    struct vm_area_struct *prev,
				    struct address_space *mapping);
void mapping_rmap_tree_remove(struct vm_area_struct *vma,
			      struct address_space *mapping);
struct vm_area_struct *mapping_rmap_tree_iter_first(struct address_space *mapping,
						    pgoff_t start, pgoff_t last);
struct vm_area_struct *mapping_rmap_tree_iter_next(struct vm_area_struct *vma,
						   pgoff_t start, pgoff_t last);
void anon_vma_interval_tree_insert(struct anon_vma_chain *avc,
				   struct anon_vma *anon_vma);
void anon_vma_interval_tree_remove(struct anon_vma_chain *avc,
				   struct anon_vma *anon_vma);
struct anon_vma_chain *anon_vma_interval_tree_iter_first(struct anon_vma *anon_vma,
							 pgoff_t start, pgoff_t last);
struct anon_vma_chain *anon_vma_interval_tree_iter_next(struct anon_vma_chain *avc,
							pgoff_t start, pgoff_t last);
#endif
