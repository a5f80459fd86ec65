/* libFuzzer harness: the unit grammar (coren/units.h) and the settings
 * tables' command lines (coren/settings.h), through the experiment's and
 * the rk topology's rows. Input: NUL-separated arguments. Properties: no
 * crash or leak; a size or count accepted as a whole number is accepted
 * as a real of the same value; an accepted command line applies or fails
 * with a message, never silently. */
#include <coren/memo.h>
#include <coren/rk.h>
#include <coren/settings.h>
#include <coren/units.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void units(const char *s)
{
	static const enum coren_units kinds[] = {
		COREN_UNITS_SIZE, COREN_UNITS_COUNT, COREN_UNITS_DURATION,
		COREN_UNITS_RATE};
	struct coren_error err = {0};
	uint64_t u;
	double d;

	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		if (kinds[k] <= COREN_UNITS_COUNT &&
		    !coren_unit_u64(s, kinds[k], &u, &err) &&
		    (coren_unit_real(s, kinds[k], &d, &err) ||
		     (u < (UINT64_C(1) << 53) && d != (double)u)))
			abort(); /* a whole number is also a real, the same */
		if (coren_unit_real(s, kinds[k], &d, &err) && !err.msg[0])
			abort(); /* a refusal always says why */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[33] = {"fuzz"};
	struct coren_memo_exp e;
	struct coren_rk_topology t;
	struct coren_setting_use *uses = NULL;
	struct coren_error err = {0};
	size_t nuses = 0;
	int argc = 1, next;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf; p < buf + size && argc < 32; p += strlen(p) + 1) {
		argv[argc++] = p;
		units(p);
	}
	argv[argc] = NULL;
	coren_memo_exp_init(&e);
	coren_rk_topology_init(&t);
	{
		const struct coren_settings tabs[] = {
			{coren_memo_exp_settings, &e},
			{coren_rk_launch_settings, &t.launch},
			{coren_rk_config_settings, &t.config}};

		if (!coren_settings_argv(tabs, 3, argc, argv, &uses, &nuses,
					 &next, &err) &&
		    coren_settings_apply_uses(uses, nuses, &err) && !err.msg[0])
			abort();
		free(coren_settings_help(tabs, 3));
	}
	free(uses);
	coren_rk_topology_release(&t);
	coren_memo_exp_release(&e);
	free(buf);
	return 0;
}
