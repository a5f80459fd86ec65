/* test_settings.c - the unit grammar (coren/units.h) and the settings
 * tables (coren/settings.h): one parser per type, the same limits from the
 * command line and from YAML, --help generated from the rows. */
#include "config.h"

#include "tap.h"

#include <coren/settings.h>
#include <coren/units.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void sizes(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {{"0", 0},
		    {"16777216", 16777216},
		    {"16MB", 16000000},
		    {"16M", 16000000},
		    {"16MiB", 16777216},
		    {"16Mi", 16777216},
		    {"1TiB", 1099511627776ULL},
		    {"1_000_000", 1000000},
		    {"1.5k", 1500},
		    {"1.5KiB", 1536},
		    {"1e6", 1000000},
		    {"64k", 64000},
		    {"2PB", 2000000000000000ULL},
		    {"18446744073709551615", UINT64_MAX}};
	static const char *const bad[] = {
		"",    "-1",   "16MBx", "1.5",	"0x10", " 1",	"1 ",
		"_1",  "1_",   "1__0",	"1..2", "1e",	"16mb", "18446744073709551616",
		"1e20", "1.0.0", "k",	"1ki"};
	struct coren_error err = {0};
	uint64_t v;

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ok(!coren_unit_u64(good[i].s, COREN_UNIT_SIZE, &v, &err) &&
			   v == good[i].v,
		   "size '%s' = %llu", good[i].s,
		   (unsigned long long)good[i].v);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(coren_unit_u64(bad[i], COREN_UNIT_SIZE, &v, &err) ==
			   COREN_ERR_USAGE &&
			   err.msg[0],
		   "size '%s' refused: %s", bad[i], err.msg);
	ok(coren_unit_u64("1KiB", COREN_UNIT_COUNT, &v, &err) &&
		   strstr(err.msg, "unknown unit 'KiB'"),
	   "a count takes no IEC unit: %s", err.msg);
	ok(!coren_unit_u64("10k", COREN_UNIT_COUNT, &v, &err) && v == 10000,
	   "count 10k");
}

static void reals(void)
{
	struct coren_error err = {0};
	double d;

	ok(!coren_unit_real("1.5", COREN_UNIT_DURATION, &d, &err) && d == 1.5,
	   "duration 1.5");
	ok(!coren_unit_real("30s", COREN_UNIT_DURATION, &d, &err) && d == 30,
	   "duration 30s");
	ok(!coren_unit_real("250ms", COREN_UNIT_DURATION, &d, &err) &&
		   fabs(d - 0.25) < 1e-15,
	   "duration 250ms");
	ok(!coren_unit_real("2h", COREN_UNIT_DURATION, &d, &err) && d == 7200,
	   "duration 2h");
	ok(!coren_unit_real("30d", COREN_UNIT_DURATION, &d, &err) &&
		   d == 30 * 86400.0,
	   "duration 30d");
	ok(coren_unit_real("30x", COREN_UNIT_DURATION, &d, &err) &&
		   !strcmp(err.msg, "unknown unit 'x'"),
	   "duration 30x refused: %s", err.msg);
	ok(coren_unit_real("-1", COREN_UNIT_DURATION, &d, &err),
	   "a negative duration refused");
	ok(!coren_unit_real("125M", COREN_UNIT_RATE, &d, &err) && d == 125e6,
	   "rate 125M");
	ok(!coren_unit_real("1GiB", COREN_UNIT_RATE, &d, &err) &&
		   d == 1073741824.0,
	   "rate 1GiB");
	ok(!coren_unit_real("1.16e11", COREN_UNIT_RATE, &d, &err) &&
		   d == 1.16e11,
	   "rate 1.16e11 exact");
	ok(coren_unit_real("1e400", COREN_UNIT_RATE, &d, &err),
	   "rate 1e400 refused");
}

/* A configured object and its table. */
struct thing {
	size_t chunk;
	unsigned workers;
	double timeout, bw;
	int mode;
	char *name;
	char **keys;
	char **cmd;
	bool fast;
};

static const char *const modes[] = {"verdict", "always", NULL};

static const struct coren_setting rows[] = {
	{COREN_ROW(HEADING, NULL, NULL, 0, NULL, "Things:")},
	{COREN_ROW(COUNT, "chunk", "chunk", 0, "N|auto", "per chunk"),
	 .flags = COREN_SETTING_AUTO, .min = 1, .max = 1e9,
	 COREN_SETTING_AT(struct thing, chunk)},
	{COREN_ROW(COUNT, "workers", "workers", 'w', "N", "workers"), .min = 1,
	 .max = 4096, COREN_SETTING_AT(struct thing, workers)},
	{COREN_ROW(DURATION, "timeout", "timeout", 0, "DURATION",
		   "a long\nhelp text"),
	 COREN_SETTING_AT(struct thing, timeout)},
	{COREN_ROW(RATE, "bw", "net-bw", 0, "RATE", "bytes per second"),
	 .min = 1, COREN_SETTING_AT(struct thing, bw)},
	{COREN_ROW(ENUM, "mode", "mode", 0, "MODE", "how"), .choices = modes,
	 COREN_SETTING_AT(struct thing, mode)},
	{COREN_ROW(STRING, "name", "name", 'n', "NAME", "a name"),
	 COREN_SETTING_AT(struct thing, name)},
	{COREN_ROW(STRINGS, "keys", "key", 0, "KEY", "repeatable"),
	 COREN_SETTING_AT(struct thing, keys)},
	{COREN_ROW(FLAG, NULL, "fast", 'f', NULL, "go fast"),
	 COREN_SETTING_AT(struct thing, fast)},
	{COREN_ROW(ARGV, "cmd", "cmd", 0, NULL, "the rest"),
	 COREN_SETTING_AT(struct thing, cmd)},
	{COREN_ROW(END, NULL, NULL, 0, NULL, NULL)}};

static enum coren_err argv_of(struct thing *t, const char *line,
			      struct coren_error *err)
{
	struct coren_settings tab = {rows, t};
	struct coren_setting_use *uses;
	char *copy = strdup(line), *argv[32] = {"prog"};
	int argc = 1, next;
	size_t n;
	enum coren_err rc;

	for (char *tok = strtok(copy, " "); tok && argc < 31;
	     tok = strtok(NULL, " "))
		argv[argc++] = tok;
	rc = coren_settings_argv(&tab, 1, argc, argv, &uses, &n, &next, err);
	if (!rc)
		rc = coren_settings_apply_uses(uses, n, err);
	free(uses);
	/* copy is kept: ARGV rows and strings point into copies */
	return rc;
}

static enum coren_err yaml_of(struct thing *t, const char *text,
			      struct coren_error *err)
{
	struct coren_settings tab = {rows, t};
	struct coren_yaml_doc *doc;
	enum coren_err rc;

	if ((rc = coren_yaml_load_buffer(text, strlen(text), "t.yaml", &doc,
					 err)))
		return rc;
	rc = coren_settings_yaml(&tab, 1, coren_yaml_root(doc), "/d", err);
	coren_yaml_free(doc);
	return rc;
}

static void same_limits(void)
{
	static const char *const bad[] = {"chunk 0", "chunk 2e9", "chunk 1.5",
					  "workers 5000", "workers -1",
					  "timeout 3x", "bw 0", "mode never",
					  "chunk 16MBx"};
	struct coren_error err = {0};
	char line[64], yaml[64];

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct thing a = {0}, b = {0};
		const char *sp = strchr(bad[i], ' ');
		int k = (int)(sp - bad[i]);
		enum coren_err r1, r2;

		snprintf(line, sizeof line, "--%.*s %s",
			 k == 2 ? 6 : k, k == 2 ? "net-bw" : bad[i], sp + 1);
		snprintf(yaml, sizeof yaml, "%.*s: %s\n", k, bad[i], sp + 1);
		r1 = argv_of(&a, line, &err);
		r2 = yaml_of(&b, yaml, &err);
		ok(r1 == COREN_ERR_USAGE && r2 == COREN_ERR_CONFIG &&
			   !strncmp(err.where, "t.yaml:1:", 9),
		   "'%s' refused from the command line and from YAML: %s",
		   bad[i], err.msg);
	}
}

static void values(void)
{
	struct coren_error err = {0};
	struct thing a = {0}, b = {0};

	ok(!argv_of(&a,
		    "--chunk 10k -w 8 --timeout 2m --net-bw 1GiB --mode always "
		    "-n x --key k1 --key k2 -f --cmd echo hi",
		    &err),
	   "a command line: %s", err.msg);
	ok(a.chunk == 10000 && a.workers == 8 && a.timeout == 120 &&
		   a.bw == 1073741824.0 && a.mode == 1 && !strcmp(a.name, "x") &&
		   !strcmp(a.keys[1], "k2") && !a.keys[2] && a.fast &&
		   !strcmp(a.cmd[1], "hi") && !a.cmd[2],
	   "every type stored");
	ok(!yaml_of(&b,
		    "chunk: 10k\nworkers: 8\ntimeout: 2m\nbw: 1GiB\n"
		    "mode: always\nname: x\nkeys: [k1, k2]\ncmd: [echo, hi]\n",
		    &err),
	   "the same in YAML: %s", err.msg);
	ok(b.chunk == a.chunk && b.workers == a.workers &&
		   b.timeout == a.timeout && b.bw == a.bw && b.mode == a.mode &&
		   !strcmp(b.name, a.name) && !strcmp(b.keys[1], "k2") &&
		   !strcmp(b.cmd[1], "hi"),
	   "YAML stores what the options store");
	ok(!argv_of(&b, "--chunk auto --key k3", &err) && b.chunk == 0 &&
		   !strcmp(b.keys[2], "k3"),
	   "options after the file: auto, and a repeated option adds");
	ok(yaml_of(&b, "cmd: echo hi\n", &err) == COREN_ERR_CONFIG &&
		   strstr(err.msg, "a list of strings") &&
		   !strcmp(err.where, "t.yaml:1:6"),
	   "cmd as a string refused at its position: %s (at %s)", err.msg,
	   err.where);
	ok(yaml_of(&b, "chunks: 3\n", &err) == COREN_ERR_CONFIG &&
		   strstr(err.msg, "unknown key 'chunks'"),
	   "unknown key: %s", err.msg);
	ok(yaml_of(&b, "fast: true\n", &err) == COREN_ERR_CONFIG,
	   "an option-only row is not a YAML key");
	ok(argv_of(&b, "--chunks 3", &err) == COREN_ERR_USAGE &&
		   !strcmp(err.msg, "unknown option '--chunks'"),
	   "unknown option, said once: %s", err.msg);
	ok(argv_of(&b, "--fast=1", &err) == COREN_ERR_USAGE &&
		   strstr(err.msg, "takes no value"),
	   "a flag with a value: %s", err.msg);
	ok(argv_of(&b, "--chunk", &err) == COREN_ERR_USAGE &&
		   strstr(err.msg, "needs a value"),
	   "a missing value: %s", err.msg);
	ok(argv_of(&b, "-x", &err) == COREN_ERR_USAGE &&
		   !strcmp(err.msg, "unknown option '-x'"),
	   "unknown short option: %s", err.msg);
}

static void help(void)
{
	struct thing t = {0};
	struct coren_settings tab = {rows, &t};
	char *h = coren_settings_help(&tab, 1), *keys = coren_settings_keys(rows);

	ok(h && strstr(h, "Things:\n  --chunk N|auto        per chunk\n"),
	   "a heading and an aligned row");
	ok(h && strstr(h, "  -w, --workers N       workers\n"),
	   "a short option");
	ok(h && strstr(h, "  --timeout DURATION    a long\n"
			  "                        help text\n"),
	   "continuation lines indented");
	ok(h && strstr(h, "  -f, --fast            go fast\n"), "a flag");
	ok(keys && !strcmp(keys, "chunk, workers, timeout, bw, mode, name, "
				 "keys, cmd"),
	   "YAML keys listed: %s", keys);
	free(h);
	free(keys);
}

int main(void)
{
	sizes();
	reals();
	same_limits();
	values();
	help();
	return done_testing();
}
