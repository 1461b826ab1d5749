/* struct anon_vma lives in the harness's <linux/mm.h>. */
#include <linux/mm.h>
