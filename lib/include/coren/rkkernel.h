/* coren/rkkernel.h - what a kernel plugin's author needs (coren-rk(3)):
 * messages, the kernel operations table, and the calls a handler makes.
 *
 * A kernel is a plugin (kind "kernel"): a handler with state that lives
 * as long as the runtime. The handler is given each message the host (or
 * another kernel) sends it and answers it with coren_rk_reply() or passes
 * it on with coren_rk_forward(). A payload of encoding COREN_RK_ENC_JSON
 * is JSON text, as the host read it: nothing parses it for the kernel; a
 * kernel that needs its values parses it (coren_json_parse()).
 *
 * Ownership: a struct coren_rk_msg is owned by whoever holds it; sending
 * it hands it to the runtime, receiving it hands it back to the caller.
 * Backends see coren/rkbackend.h, hosts coren/rk.h (both include this).
 */
#ifndef COREN_RKKERNEL_H
#define COREN_RKKERNEL_H

#include <coren/envelope.h>
#include <coren/error.h>
#include <coren/plugin.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- messages ----------------------------------------------------------- */

struct coren_rk_msg {
	struct coren_rk_header hdr; /* hdr.payload_size bytes are valid */
	uint32_t capacity;	    /* payload bytes allocated */
	uint32_t reserved;
	uint64_t sent_us;	    /* when the runtime accepted it */
	unsigned char payload[];    /* 16-byte aligned */
};

/* A message with room for capacity payload bytes, header initialised
 * (coren_env_header_init), payload_size 0. NULL on ENOMEM or when capacity
 * exceeds COREN_ENV_PAYLOAD_MAX. */
struct coren_rk_msg *coren_rk_msg_new(size_t capacity);

/* Frees a message (accepts NULL). */
void coren_rk_msg_free(struct coren_rk_msg *m);

/* Copies n bytes into m's payload, growing it (so *m may move).
 * COREN_ERR_ENV_TOOBIG past 64 KiB, COREN_ERR_NOMEM. */
enum coren_err coren_rk_msg_set_payload(struct coren_rk_msg **m,
					const void *data, size_t n);

/* Makes *m an error message (it may move): flag COREN_ENV_F_ERROR, JSON
 * payload {"at": at, "reason": reason} ("at" only when at is not NULL).
 * COREN_ERR_NOMEM leaves an error message with an empty payload. */
enum coren_err coren_rk_msg_set_error(struct coren_rk_msg **m, const char *at,
				      const char *reason);

/* ---- kernels (plugin kind "kernel") ----------------------------------------- */

struct coren_rk_ctx; /* the runtime, as one handler call sees it */

/* An argument a kernel takes (coren_kernel_ops.args). */
enum coren_kernel_arg_type {
	COREN_KARG_NUMBER = 1, /* any JSON number */
	COREN_KARG_INTEGER,    /* a JSON integer */
	COREN_KARG_STRING,
	COREN_KARG_BOOL,
	COREN_KARG_KERNEL /* the name of a kernel of the runtime, reached
			   * over K2K: it must exist, and the kernel taking
			   * it must have K2K (checked by coren_rk_check) */
};

struct coren_kernel_arg {
	const char *name; /* NULL ends the table */
	int type;	  /* enum coren_kernel_arg_type */
	int required;
	double min, max; /* numbers and integers: the range, when min < max */
};

#define COREN_KERNEL_F_CPU 0x1u	 /* has a CPU handler */
#define COREN_KERNEL_F_CUDA 0x2u /* has a CUDA entry */

struct coren_kernel_ops {
	uint32_t struct_size; /* sizeof(struct coren_kernel_ops) when built */
	uint32_t flags;	      /* COREN_KERNEL_F_* */
	/* Optional. Makes the state of one worker from the launch arguments
	 * (an object, borrowed). */
	enum coren_err (*init)(void **state, const json_t *args,
			       struct coren_error *err);
	/* Optional. */
	void (*fini)(void *state);
	/* The CPU handler: handles m (owned by the runtime). Answer with
	 * coren_rk_reply() or pass it on with coren_rk_forward(), at most
	 * once; returning without either answers with an empty reply, and
	 * an error answers with an error message. Never resize m (it
	 * would move): answer with a new message instead. */
	enum coren_err (*handle)(void *state, struct coren_rk_ctx *ctx,
				 struct coren_rk_msg *m,
				 struct coren_error *err);
	/* Optional: what the state holds now, for the kernel record. */
	json_t *(*status)(void *state);
	/* The CUDA entry (coren-rk(3)); NULL for CPU-only kernels. */
	const void *cuda;
	/* Optional (read only when struct_size covers it; the plugin ABI
	 * stays 1.2): the arguments it takes, a table ended by a
	 * NULL name. With one, a launch refuses unknown arguments, values
	 * of the wrong type or out of range, and missing required ones;
	 * without one, any object is handed to init. */
	const struct coren_kernel_arg *args;
};

/* Answers the message being handled with m (which may be that message):
 * m goes to the host with the request's correlation id. COREN_ERR_STATE if
 * the message was already answered or passed on (m is then freed unless it
 * is the request). */
enum coren_err coren_rk_reply(struct coren_rk_ctx *ctx, struct coren_rk_msg *m);

/* Passes the message being handled on to kernel dest as m (which may be
 * that message) over K2K; whoever answers it answers the request. Errors
 * as coren_rk_reply(); a failed delivery answers the request with an
 * error naming the K2K status. */
enum coren_err coren_rk_forward(struct coren_rk_ctx *ctx, uint32_t dest,
				struct coren_rk_msg *m);

/* The id of the kernel named name (0 if none), and of the one handling. */
uint32_t coren_rk_lookup(struct coren_rk_ctx *ctx, const char *name);
uint32_t coren_rk_self(struct coren_rk_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
