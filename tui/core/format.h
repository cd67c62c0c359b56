/* format.h - numbers as people read them, and back: durations ("4.21 ms",
 * "4.2ms"), rates ("12.3k") and the values the command line and the
 * interactive view's prompts take ("500ms", "4M", "17").  Pure functions,
 * shared by every layer of the host program. */
#ifndef VQ_FORMAT_H
#define VQ_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Human text for a duration: "812 ns", "4.21 ms", "1.50 s". */
void format_duration(char *buf, size_t len, uint64_t ns);
/* The same for table cells, at most 7 characters: "-" for 0, "812ns",
 * "4.2ms", "1.50s". */
void format_short_duration(char *buf, size_t len, uint64_t ns);
/* "12.3k", "4.5M": a rate in 6 characters or fewer. */
void format_rate(char *buf, size_t len, double v);
/* "4 MiB", "512 KiB", "1000 bytes": exact sizes only get a unit. */
void format_size(char *buf, size_t len, uint64_t bytes);

/* Parse "2.5", "500ms", "3s", "1m" into nanoseconds. */
bool parse_duration(const char *text, uint64_t *ns);
/* Parse a non-negative integer with optional K/M/G suffix (powers of 2). */
bool parse_size(const char *text, uint64_t *out);
/* Parse an unsigned decimal integer within [min, max]. */
bool parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out);

#endif /* VQ_FORMAT_H */
