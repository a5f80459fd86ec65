/* dl_int.h - the libraries libcoren opens when first needed, not linked:
 * libcrypto (crypto.c) and libcurl (lib/memo/remote.c). Private. */
#ifndef COREN_DL_INT_H
#define COREN_DL_INT_H

#include <stdbool.h>
#include <stddef.h>

/* dlsym of name in lib (libname in messages) into the function pointer
 * at fn (ISO C has no cast between the two kinds of pointer). When lib
 * has no such symbol: false, and why[n] says so unless it says something
 * already. */
bool coren_dl_fn(void *lib, const char *libname, const char *name, void *fn,
		 char *why, size_t n);

#endif
