/* Userspace stand-ins for what the kernel's rbtree and interval-tree sources
 * take from <linux/compiler.h>; written for the mmrace ivtree harness. */
#ifndef IVHARNESS_COMPILER_H
#define IVHARNESS_COMPILER_H
#include <stdbool.h>
#include <stddef.h>
#define WRITE_ONCE(x, val) (*(volatile __typeof__(x) *)&(x) = (val))
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#endif
