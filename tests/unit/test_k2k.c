/* test_k2k - the broker: delivery, routes, max hops, timeouts, full
 * inboxes, statuses and stats. */
#include "config.h"

#include "tap.h"

#include <coren/rk.h>

static struct coren_rk_msg *msg(uint32_t from, uint32_t to)
{
	struct coren_rk_msg *m = coren_rk_msg_new(0);

	m->hdr.source = from;
	m->hdr.destination = to;
	return m;
}

int main(void)
{
	struct coren_k2k *b;
	struct coren_k2k_stats st;
	struct coren_rk_msg *m, *got[4];
	struct coren_doorbell bell;
	struct coren_error err = {0};

	coren_doorbell_init(&bell);
	is_int(coren_k2k_new(2, 256, 20, &b, &err), COREN_ERR_USAGE,
	       "more than 255 hops is refused (the header counts 8 bits)");
	ok(strstr(err.msg, "max_hops 256 is not from 1 to 255") != NULL, "message: %s", err.msg);
	ok(!coren_k2k_new(2, 255, 20, &b, NULL), "255 hops is the most");
	coren_k2k_free(b);
	ok(!coren_k2k_new(2, 3, 20, &b, NULL), "a broker: inboxes of 2, 3 hops, 20 ms");
	ok(!coren_k2k_register(b, 1, NULL, NULL) && !coren_k2k_register(b, 2, &bell, NULL) &&
	   !coren_k2k_register(b, 3, NULL, NULL), "endpoints 1, 2, 3");
	is_int(coren_k2k_register(b, 2, NULL, &err), COREN_ERR_USAGE, "twice is refused");
	is_int(coren_k2k_register(b, 0, NULL, &err), COREN_ERR_USAGE, "0 is the host");

	m = msg(1, 2);
	is_int(coren_k2k_send(b, m), COREN_K2K_DELIVERED, "1 -> 2 delivered");
	is_int(m->hdr.hops, 1, "one hop counted");
	is_int(coren_k2k_depth(b, 2), 1, "in 2's inbox");
	ok(coren_k2k_recv(b, 2, got, 4) == 1 && got[0] == m, "2 receives it");
	coren_rk_msg_free(m);

	m = msg(1, 9);
	is_int(coren_k2k_send(b, m), COREN_K2K_NOT_FOUND, "no endpoint 9");
	coren_rk_msg_free(m);

	ok(!coren_k2k_route(b, 3, 2, NULL), "route 3 via 2");
	m = msg(1, 3);
	is_int(coren_k2k_send(b, m), COREN_K2K_PENDING, "1 -> 3 goes to 2 first: pending");
	ok(coren_k2k_recv(b, 2, got, 4) == 1 && got[0] == m, "the next hop has it");
	m->hdr.source = 2; /* 2 passes it on */
	is_int(coren_k2k_send(b, m), COREN_K2K_DELIVERED, "2 -> 3: delivered");
	ok(coren_k2k_recv(b, 3, got, 4) == 1 && got[0]->hdr.hops == 2, "at 3 after two hops");
	coren_rk_msg_free(m);

	m = msg(1, 2);
	m->hdr.hops = 3;
	is_int(coren_k2k_send(b, m), COREN_K2K_MAX_HOPS, "a fourth hop is refused");
	is_int(m->hdr.hops, 3, "a refused message keeps its hops");
	m->hdr.hops = 0;
	m->hdr.deadline = 1; /* long past */
	is_int(coren_k2k_send(b, m), COREN_K2K_TIMEOUT, "a passed deadline times out");
	m->hdr.deadline = 0;
	m->hdr.destination = 1;

	ok(coren_k2k_send(b, msg(3, 1)) == COREN_K2K_DELIVERED &&
	   coren_k2k_send(b, msg(3, 1)) == COREN_K2K_DELIVERED, "fill 1's inbox");
	is_int(coren_k2k_try_send(b, m), COREN_K2K_QUEUE_FULL, "try_send: queue full");
	is_int(coren_k2k_send(b, m), COREN_K2K_TIMEOUT, "send waits 20 ms, then times out");
	coren_rk_msg_free(m);
	while (coren_k2k_recv(b, 1, got, 1))
		coren_rk_msg_free(got[0]);

	coren_k2k_get_stats(b, &st);
	is_u64(st.status[COREN_K2K_DELIVERED], 4, "4 delivered");
	is_u64(st.status[COREN_K2K_PENDING], 1, "1 pending");
	is_u64(st.status[COREN_K2K_NOT_FOUND], 1, "1 not found");
	is_u64(st.status[COREN_K2K_MAX_HOPS], 1, "1 over the hop limit");
	is_u64(st.status[COREN_K2K_TIMEOUT], 2, "2 timeouts");
	is_u64(st.status[COREN_K2K_QUEUE_FULL], 1, "1 queue full");
	is_u64(st.received, 5, "5 received");
	is_str(coren_k2k_status_name(COREN_K2K_MAX_HOPS), "max_hops", "status names");

	coren_k2k_send(b, msg(1, 3)); /* left queued: freed with the broker */
	coren_k2k_free(b);
	return done_testing();
}
