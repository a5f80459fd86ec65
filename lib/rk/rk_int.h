/* rk_int.h - what lib/rk's files share and nobody else sees. */
#ifndef COREN_RK_INT_H
#define COREN_RK_INT_H

#include <coren/rk.h>
#include <stddef.h>

/* coren_k2k_try_send() that leaves a full inbox uncounted: the caller
 * parks m and offers it again; if it gives up (s: queue_full or timeout),
 * rk_k2k_give_up() counts the outcome and the drop once. */
enum coren_k2k_status rk_k2k_offer(struct coren_k2k *b, struct coren_rk_msg *m);
enum coren_k2k_status rk_k2k_give_up(struct coren_k2k *b,
				     struct coren_rk_msg *m,
				     enum coren_k2k_status s);

/* The capacity of every inbox of b. */
size_t rk_k2k_inbox_capacity(const struct coren_k2k *b);

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
