/*
 * harness.c drives the kernel's own interval tree (mm/interval_tree.c over
 * lib/rbtree.c, rbtree_augmented.h and interval_tree_generic.h) through fixed
 * and pseudo-random sequences of insert, insert_after and remove on
 * address_space->i_mmap, and prints after each operation the tree's shape,
 * some iterations, and after a remove what the erased node still points to
 * and where the iterator goes from it. The Go test TestKernelShapes replays
 * the printed operations with package ivtree and requires the same text.
 *
 * gen.sh compiles the kernel's sources with -O0 -fsanitize=thread but links
 * no sanitizer runtime: the __tsan_* functions below are called before every
 * load and store of the kernel's code, in the order of its source. The
 * harness records the stores of each operation ("stores" line) and the loads
 * of each iteration ("reads" line) that touch a node or the tree root, as
 * node.field, so the Go port can be held to the kernel's order of accesses,
 * not only to its results.
 *
 * This file holds no kernel code: gen.sh compiles it with the kernel's
 * sources, which are not part of mmrace.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <linux/mm.h>

#define NNODES 32
#define MAXVISIT 200

static struct vm_area_struct pool[NNODES];
static int intree[NNODES];
static struct address_space mapping;
static uint64_t rng;

enum { TRACE_OFF, TRACE_STORES, TRACE_READS };
static int tracing;
static char trace[1 << 16];
static size_t tracelen;

/* note appends the field at addr, if it is a node's or the root's, to the
 * trace. */
static void note(void *addr)
{
	char *a = addr, *p = (char *)pool;
	const char *field = NULL;
	int id = -1;

	if (a >= p && a < p + sizeof(pool)) {
		size_t off = (size_t)(a - p) % sizeof(pool[0]);

		id = (int)((size_t)(a - p) / sizeof(pool[0]));
		if (off == offsetof(struct vm_area_struct, shared.rb.__rb_parent_color))
			field = "pc";
		else if (off == offsetof(struct vm_area_struct, shared.rb.rb_left))
			field = "l";
		else if (off == offsetof(struct vm_area_struct, shared.rb.rb_right))
			field = "r";
		else if (off == offsetof(struct vm_area_struct, shared.rb_subtree_last))
			field = "sub";
		else if (off == offsetof(struct vm_area_struct, start))
			field = "start";
		else if (off == offsetof(struct vm_area_struct, last))
			field = "last";
		else
			field = "?";
	} else if (a == (char *)&mapping.i_mmap.rb_root.rb_node) {
		field = "root";
	} else if (a == (char *)&mapping.i_mmap.rb_leftmost) {
		field = "leftmost";
	} else {
		return;
	}
	if (tracelen + 32 >= sizeof(trace))
		return;
	if (id >= 0)
		tracelen += snprintf(trace + tracelen, 32, " %d.%s", id, field);
	else
		tracelen += snprintf(trace + tracelen, 32, " %s", field);
}

static void trace_begin(int mode)
{
	tracing = mode;
	tracelen = 0;
	trace[0] = 0;
}

static void trace_end(const char *label)
{
	tracing = TRACE_OFF;
	printf("%s%s\n", label, trace);
}

void __tsan_init(void) {}
void __tsan_func_entry(void *pc) { (void)pc; }
void __tsan_func_exit(void) {}
#define TSAN_ACCESS(n)							\
void __tsan_read##n(void *addr) { if (tracing == TRACE_READS) note(addr); } \
void __tsan_write##n(void *addr) { if (tracing == TRACE_STORES) note(addr); } \
void __tsan_unaligned_read##n(void *addr) { __tsan_read##n(addr); }	\
void __tsan_unaligned_write##n(void *addr) { __tsan_write##n(addr); }
/* Only rb_replace_node() copies a whole node; no path here calls it. */
void __tsan_read_range(void *addr, unsigned long size) { (void)addr; (void)size; }
void __tsan_write_range(void *addr, unsigned long size) { (void)addr; (void)size; }
TSAN_ACCESS(1)
TSAN_ACCESS(2)
TSAN_ACCESS(4)
TSAN_ACCESS(8)
TSAN_ACCESS(16)

/* next is splitmix64. */
static uint64_t next(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int below(int n)
{
	return (int)(next() % (uint64_t)n);
}

static struct vm_area_struct *vma_of(struct rb_node *rb)
{
	return rb ? container_of(rb, struct vm_area_struct, shared.rb) : NULL;
}

static struct rb_node *parent_of(struct rb_node *rb)
{
	return (struct rb_node *)(rb->__rb_parent_color & ~3UL);
}

static char color_of(struct rb_node *rb)
{
	return (rb->__rb_parent_color & 1) ? 'B' : 'r';
}

static void print_id(const char *label, struct rb_node *rb)
{
	if (rb)
		printf("%s%d", label, vma_of(rb)->id);
	else
		printf("%s-", label);
}

/* print_shape prints the subtree at rb in pre-order:
 * id:color:start-last^subtree_last, '!' if its parent pointer is not
 * expected, then (left,right) unless both are NULL. */
static void print_shape(struct rb_node *rb, struct rb_node *expected)
{
	struct vm_area_struct *v;

	if (!rb) {
		putchar('.');
		return;
	}
	v = vma_of(rb);
	printf("%d:%c:%lu-%lu^%lu", v->id, color_of(rb), v->start, v->last,
	       v->shared.rb_subtree_last);
	if (parent_of(rb) != expected)
		putchar('!');
	if (rb->rb_left || rb->rb_right) {
		putchar('(');
		print_shape(rb->rb_left, rb);
		putchar(',');
		print_shape(rb->rb_right, rb);
		putchar(')');
	}
}

static void print_tree(void)
{
	printf("shape ");
	print_shape(mapping.i_mmap.rb_root.rb_node, NULL);
	print_id(" leftmost=", mapping.i_mmap.rb_leftmost);
	putchar('\n');
}

/* print_iter prints an iteration over [start, last] and, if traced, the
 * loads it made. */
static void print_iter(pgoff_t start, pgoff_t last, int traced)
{
	struct vm_area_struct *v, *seen[MAXVISIT];
	int i, n = 0;

	if (traced)
		trace_begin(TRACE_READS);
	for (v = mapping_rmap_tree_iter_first(&mapping, start, last);
	     v && n < MAXVISIT; v = mapping_rmap_tree_iter_next(v, start, last))
		seen[n++] = v;
	tracing = TRACE_OFF;
	printf("iter %lu %lu:", start, last);
	for (i = 0; i < n; i++)
		printf(" %d", seen[i]->id);
	putchar('\n');
	if (traced)
		trace_end("reads");
}

static void print_queries(void)
{
	int i;

	print_iter(0, 1000, 0);
	for (i = 0; i < 3; i++) {
		int s = below(40);
		print_iter(s, s + below(12), i == 0);
	}
}

/* print_stale prints what the erased node still holds, and where
 * iter_next goes from it. */
static void print_stale(struct vm_area_struct *v)
{
	struct rb_node *rb = &v->shared.rb;
	struct vm_area_struct *w, *seen[MAXVISIT];
	int s = below(40), l = s + below(16), i, n = 0;

	printf("stale %d", v->id);
	print_id(" p=", parent_of(rb));
	print_id(" l=", rb->rb_left);
	print_id(" r=", rb->rb_right);
	printf(" c=%c sub=%lu\n", color_of(rb), v->shared.rb_subtree_last);
	trace_begin(TRACE_READS);
	for (w = mapping_rmap_tree_iter_next(v, s, l); w && n < MAXVISIT;
	     w = mapping_rmap_tree_iter_next(w, s, l))
		seen[n++] = w;
	tracing = TRACE_OFF;
	printf("stale_iter %d %d:", s, l);
	for (i = 0; i < n; i++)
		printf(" %d", seen[i]->id);
	putchar('\n');
	trace_end("reads");
}

static void after(void)
{
	print_tree();
	print_queries();
}

static void op_insert(int id, pgoff_t start, pgoff_t last)
{
	pool[id].start = start;
	pool[id].last = last;
	printf("insert %d %lu %lu\n", id, start, last);
	trace_begin(TRACE_STORES);
	mapping_rmap_tree_insert(&pool[id], &mapping);
	trace_end("stores");
	intree[id] = 1;
	after();
}

static void op_insert_after(int id, int prev, pgoff_t start, pgoff_t last)
{
	pool[id].start = start;
	pool[id].last = last;
	printf("insert_after %d %d %lu %lu\n", id, prev, start, last);
	trace_begin(TRACE_STORES);
	mapping_rmap_tree_insert_after(&pool[id], &pool[prev], &mapping);
	trace_end("stores");
	intree[id] = 1;
	after();
}

static void op_remove(int id)
{
	printf("remove %d\n", id);
	trace_begin(TRACE_STORES);
	mapping_rmap_tree_remove(&pool[id], &mapping);
	trace_end("stores");
	intree[id] = 0;
	after();
	print_stale(&pool[id]);
}

static void begin(const char *name, uint64_t seed)
{
	int i;

	printf("seq %s\n", name);
	memset(pool, 0, sizeof(pool));
	memset(intree, 0, sizeof(intree));
	for (i = 0; i < NNODES; i++)
		pool[i].id = i;
	mapping.i_mmap = RB_ROOT_CACHED;
	rng = seed;
}

static int pick(int want_in)
{
	int i, n = 0, k;

	for (i = 0; i < NNODES; i++)
		n += intree[i] == want_in;
	if (!n)
		return -1;
	k = below(n);
	for (i = 0; i < NNODES; i++)
		if (intree[i] == want_in && k-- == 0)
			return i;
	return -1;
}

static void seq_random(int k)
{
	char name[32];
	int i;

	snprintf(name, sizeof(name), "random_%02d", k);
	begin(name, 1000 + k);
	for (i = 0; i < 50; i++) {
		int r = below(100), id, prev;

		if (r < 45 || (id = pick(1)) < 0) {
			id = pick(0);
			if (id < 0)
				continue;
			{
				int s = below(24);
				op_insert(id, s, s + below(10));
			}
		} else if (r < 65) {
			prev = id;
			id = pick(0);
			if (id < 0)
				continue;
			op_insert_after(id, prev, pool[prev].start,
					pool[prev].start +
					below(pool[prev].last - pool[prev].start + 1));
		} else {
			op_remove(id);
		}
	}
}

int main(void)
{
	int i, k;

	begin("ascending", 1);
	for (i = 0; i < 20; i++)
		op_insert(i, 2 * i, 2 * i + i % 5);
	for (i = 0; i < 20; i++)
		op_remove(i);

	begin("descending", 2);
	for (i = 0; i < 20; i++)
		op_insert(i, 40 - 2 * i, 40 - 2 * i + (i * 7) % 9);
	for (i = 19; i >= 0; i--)
		op_remove(i);

	begin("equal_starts", 3);
	for (i = 0; i < 16; i++)
		op_insert(i, 5, 5 + (i * 7) % 11);
	for (i = 0; i < 16; i += 2)
		op_remove(i);
	for (i = 16; i < 24; i++)
		op_insert(i, 5, 5 + (i * 3) % 7);
	for (i = 1; i < 24; i += 2)
		op_remove(i);

	begin("insert_after_chain", 4);
	op_insert(0, 4, 9);
	op_insert(1, 2, 3);
	op_insert(2, 8, 12);
	for (i = 3; i < 12; i++)
		op_insert_after(i, 0, 4, 9);
	for (i = 12; i < 20; i++)
		op_insert_after(i, i - 1, 4, 4 + i % 6);
	for (i = 0; i < 20; i += 3)
		op_remove(i);

	begin("insert_after_larger_last", 5);
	op_insert(0, 10, 11);
	op_insert(1, 4, 5);
	op_insert(2, 16, 17);
	op_insert(3, 4, 6);
	op_insert_after(4, 1, 4, 30);
	op_insert_after(5, 4, 4, 31);

	begin("insert_after_other_start", 6);
	op_insert(0, 10, 11);
	op_insert(1, 4, 5);
	op_insert(2, 16, 17);
	op_insert_after(3, 2, 1, 2);
	op_insert_after(4, 1, 12, 13);

	begin("remove_root", 7);
	for (i = 0; i < 31; i++) {
		int s = below(30);

		op_insert(i, s, s + below(6));
	}
	for (i = 0; i < 31; i++) {
		struct vm_area_struct *root = vma_of(mapping.i_mmap.rb_root.rb_node);
		op_remove(root->id);
	}

	for (k = 0; k < 20; k++)
		seq_random(k);
	return 0;
}
