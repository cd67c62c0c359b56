/* text.h - a growing text buffer: the core renders reports and other
 * multi-line text into it, and the layer that owns the output decides
 * where it goes (stdout, a file, a test's comparison).  Out of memory is
 * sticky: later appends do nothing and `failed` says so. */
#ifndef VQ_TEXT_H
#define VQ_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct text {
	char *data; /* NUL-terminated once anything was appended; may be NULL */
	size_t len, cap;
	bool failed;
};

/* Append printf-style; an empty text is {0}. */
void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text so far ("" when empty). */
const char *text_str(const struct text *t);
void text_free(struct text *t);

#endif /* VQ_TEXT_H */
