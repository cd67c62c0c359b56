/* format.c - a small printf-style formatter for the demo guest, which has
 * no libc.  Enough for its messages: %s %c %d %u %x %p, the l and ll
 * length modifiers, a field width and zero padding. */
#include "demo.h"

struct sink {
	char *buf;
	size_t size;
	size_t len; /* length the full output would have */
};

static void put(struct sink *s, char c)
{
	if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void put_number(struct sink *s, u64 v, unsigned base, int negative, unsigned width, char pad)
{
	char digits[24];
	unsigned n = 0;

	do {
		unsigned d = (unsigned)(v % base);
		digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	if (negative)
		digits[n++] = '-';
	for (unsigned i = n; i < width; i++)
		put(s, pad);
	while (n)
		put(s, digits[--n]);
}

int format_v(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = {buf, size, 0};

	for (const char *p = fmt; *p; p++) {
		unsigned width = 0, longs = 0;
		char pad = ' ';

		if (*p != '%') {
			put(&s, *p);
			continue;
		}
		p++;
		if (*p == '0')
			pad = '0';
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (unsigned)(*p++ - '0');
		while (*p == 'l') {
			longs++;
			p++;
		}
		switch (*p) {
		case 'd': {
			long long v = longs ? va_arg(ap, long long) : va_arg(ap, int);
			put_number(&s, v < 0 ? 0 - (u64)v : (u64)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			u64 v = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			put_number(&s, v, *p == 'u' ? 10 : 16, 0, width, pad);
			break;
		}
		case 'p':
			put(&s, '0');
			put(&s, 'x');
			put_number(&s, (u64)(size_t)va_arg(ap, void *), 16, 0, width, pad);
			break;
		case 'c':
			put(&s, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			size_t n = str ? strlen(str) : 6;

			for (size_t i = n; i < width; i++)
				put(&s, ' ');
			for (size_t i = 0; i < n; i++)
				put(&s, str ? str[i] : "(null)"[i]);
			break;
		}
		case '%':
			put(&s, '%');
			break;
		case '\0':
			p--;
			break;
		default:
			put(&s, '%');
			put(&s, *p);
			break;
		}
	}
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = format_v(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
