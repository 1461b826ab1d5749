/* struct address_space lives in the harness's <linux/mm.h>. */
#include <linux/mm.h>
