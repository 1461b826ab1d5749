/* The kernel's <linux/stddef.h>, as far as the rbtree sources need it. */
#include <stddef.h>
