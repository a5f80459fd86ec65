/* rk_int.h - what lib/rk's files share and nobody else sees. */
#ifndef COREN_RK_INT_H
#define COREN_RK_INT_H

#include <stddef.h>

/* The smallest power of two, at least 2, not below n. */
static inline size_t rk_pow2_at_least(size_t n)
{
	size_t p = 2;

	while (p < n)
		p <<= 1;
	return p;
}

/* A spin-wait hint to the CPU. */
static inline void rk_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

#endif
