/* EXPORT_SYMBOL has no meaning in userspace. */
#define EXPORT_SYMBOL(sym)
