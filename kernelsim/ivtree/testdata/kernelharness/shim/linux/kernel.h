/* container_of for the kernel's rbtree sources; written for the mmrace ivtree
 * harness. */
#ifndef IVHARNESS_KERNEL_H
#define IVHARNESS_KERNEL_H
#include <linux/compiler.h>
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif
