/* crypto.c - opens libcrypto on first use (crypto_int.h), and the dlsym
 * helper of the libraries opened so (dl_int.h). */
#include "config.h"

#include "crypto_int.h"
#include "dl_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static struct coren_crypto lc;	   /* written once, by open_lc */
static char lc_error[256];	   /* why it cannot be used; "" when it can */
static pthread_once_t lc_once = PTHREAD_ONCE_INIT;

bool coren_dl_fn(void *lib, const char *libname, const char *name, void *fn,
		 char *why, size_t n)
{
	void *p = dlsym(lib, name);

	if (p)
		memcpy(fn, &p, sizeof p);
	else if (!why[0])
		snprintf(why, n, "no %s in %s", name, libname);
	return p != NULL;
}

static void open_lc(void)
{
	void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
	bool ok = true;

	if (!lib && !(lib = dlopen("libcrypto.so.1.1", RTLD_NOW | RTLD_LOCAL))) {
		snprintf(lc_error, sizeof lc_error, "%s", dlerror());
		return;
	}
#define COREN_CRYPTO_LOAD(f) \
	ok &= coren_dl_fn(lib, "libcrypto", #f, &lc.f, lc_error, sizeof lc_error);
	COREN_CRYPTO_FNS(COREN_CRYPTO_LOAD)
	(void)ok;
}

const struct coren_crypto *coren_crypto(struct coren_error *err)
{
	pthread_once(&lc_once, open_lc);
	if (!lc_error[0])
		return &lc;
	coren_error_set(err, COREN_ERR_PLUGIN_DLOPEN,
			"OpenSSL's libcrypto cannot be loaded: %s", lc_error);
	return NULL;
}
