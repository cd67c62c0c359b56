/* format.c - durations, rates and sizes as text, and parsing them back
 * (see format.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

void format_duration(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.2f us", (double)ns / 1e3);
	else if (ns < 1000000000ull)
		snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
}

void format_short_duration(char *buf, size_t len, uint64_t ns)
{
	if (ns == 0)
		snprintf(buf, len, "-");
	else if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 999950)
		snprintf(buf, len, "%.1fus", (double)ns / 1e3);
	else if (ns < 999950000)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else if (ns < 999995000000ull)
		snprintf(buf, len, "%.2fs", (double)ns / 1e9);
	else
		snprintf(buf, len, "%.0fs", (double)ns / 1e9);
}

void format_rate(char *buf, size_t len, double v)
{
	if (v < 999.95)
		snprintf(buf, len, "%.1f", v);
	else if (v < 999.95e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 999.95e6)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else
		snprintf(buf, len, "%.1fG", v / 1e9);
}

void format_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes >= 1024 && bytes % 1024 == 0)
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
}

bool parse_duration(const char *text, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || v < 0 || v > 1e7)
		return false;
	if (*end == 0 || strcmp(end, "s") == 0)
		v *= 1e9;
	else if (strcmp(end, "ms") == 0)
		v *= 1e6;
	else if (strcmp(end, "us") == 0)
		v *= 1e3;
	else if (strcmp(end, "ns") == 0)
		;
	else if (strcmp(end, "m") == 0)
		v *= 60e9;
	else
		return false;
	*ns = (uint64_t)v;
	return true;
}

bool parse_size(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*text == '-')
		return false;
	v = strtoull(text, &end, 0);
	if (errno || end == text)
		return false;
	switch (*end) {
	case 0:
		break;
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	default:
		return false;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return false;
	*out = v;
	return true;
}

bool parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*text == '-')
		return false;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}
