/* coren/version.h - the library's version. */
#ifndef COREN_VERSION_H
#define COREN_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the libcoren in use ("0.1.0"). */
const char *coren_version(void);

#ifdef __cplusplus
}
#endif
#endif
