/* memory.c - the demo guest's memory: a bump allocator of zeroed pages
 * between the end of the kernel image and the top of usable RAM (capped
 * at the identity-mapped first GiB), and the mem* functions the compiler
 * may call. */
#include "demo.h"

#define PAGE 4096u

static u64 heap_next, heap_end;

void memory_init(u64 start, u64 end)
{
	heap_next = (start + PAGE - 1) & ~(u64)(PAGE - 1);
	heap_end = end;
}

void *memory_alloc(size_t bytes, const char *what)
{
	u64 size = (bytes + PAGE - 1) & ~(u64)(PAGE - 1);
	void *p;

	if (size > heap_end - heap_next || heap_next > heap_end)
		fail(EXIT_INTERNAL, "out of memory allocating %llu bytes for %s (%llu left)",
		     (unsigned long long)bytes, what,
		     (unsigned long long)(heap_end > heap_next ? heap_end - heap_next : 0));
	p = (void *)(size_t)heap_next;
	heap_next += size;
	memset(p, 0, size);
	return p;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ __volatile__("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ __volatile__("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}
