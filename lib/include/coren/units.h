/* coren/units.h - the one grammar of numbers with units (coren(7) UNITS).
 *
 * Every size, count, duration and rate coren reads, on a command line, in
 * a YAML file or inside a cost expression, goes through these functions:
 *
 *   number := digits ['.' digits] [('e'|'E') ['+'|'-'] digits] [unit]
 *
 * where '_' may stand between two digits ("1_000_000"). Units by kind:
 *
 *   size      B; k K kB KB, M MB, G GB, T TB, P PB (powers of 1000);
 *             Ki KiB, Mi MiB, Gi GiB, Ti TiB, Pi PiB (powers of 1024)
 *   count     k K, M, G, T, P (powers of 1000)
 *   duration  ns, us, ms, s, m or min, h, d (none: seconds)
 *   rate      as size (a number per second: 125M, 1.5e9, 1GiB)
 *
 * Sizes and counts are exact whole numbers (1.5k is 1500; 1.5 is refused),
 * at most 2^64-1. Durations and rates are non-negative reals. No sign, no
 * spaces, no hexadecimal.
 */
#ifndef COREN_UNITS_H
#define COREN_UNITS_H

#include <coren/error.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum coren_unit {
	COREN_UNIT_SIZE,
	COREN_UNIT_COUNT,
	COREN_UNIT_DURATION,
	COREN_UNIT_RATE
};

/* Scans a size or count at s; *end is set after it, or, on error, at the
 * offending character. COREN_ERR_USAGE with a message naming it. */
enum coren_err coren_unit_scan_u64(const char *s, enum coren_unit kind,
				   const char **end, uint64_t *out,
				   struct coren_error *err);

/* Scans a duration or rate (or a size or count, as a real) at s. */
enum coren_err coren_unit_scan_real(const char *s, enum coren_unit kind,
				    const char **end, double *out,
				    struct coren_error *err);

/* The whole string s as a size or count; nothing may follow. */
enum coren_err coren_unit_u64(const char *s, enum coren_unit kind,
			      uint64_t *out, struct coren_error *err);

/* The whole string s as a duration or rate; nothing may follow. */
enum coren_err coren_unit_real(const char *s, enum coren_unit kind,
			       double *out, struct coren_error *err);

/* The kind's name ("size", "count", ...) and its units, for messages. */
const char *coren_unit_name(enum coren_unit kind);
const char *coren_unit_list(enum coren_unit kind);

#ifdef __cplusplus
}
#endif

#endif
