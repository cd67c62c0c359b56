/* text.c - the growing text buffer (see text.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "text.h"

void text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int need;

	if (t->failed)
		return;
	va_start(ap, fmt);
	need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (need < 0) {
		t->failed = true;
		return;
	}
	if (t->len + (size_t)need + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		char *p;

		while (cap < t->len + (size_t)need + 1)
			cap *= 2;
		p = realloc(t->data, cap);
		if (!p) {
			t->failed = true;
			return;
		}
		t->data = p;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)need;
}

const char *text_str(const struct text *t)
{
	return t->data ? t->data : "";
}

void text_free(struct text *t)
{
	free(t->data);
	t->data = NULL;
	t->len = t->cap = 0;
	t->failed = false;
}
