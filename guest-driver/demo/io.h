/* io.h - x86 port I/O, MMIO accessors and the time-stamp counter for the
 * demo guest.  MMIO goes through volatile pointers of the field's natural
 * width, as virtio 1.2 4.1.3.1 requires for the common configuration. */
#ifndef DEMO_IO_H
#define DEMO_IO_H

#include "vqtrace.h"

static inline void outb(vq_u16 port, vq_u8 v)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(vq_u16 port, vq_u16 v)
{
	__asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(vq_u16 port, vq_u32 v)
{
	__asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline vq_u8 inb(vq_u16 port)
{
	vq_u8 v;
	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline vq_u16 inw(vq_u16 port)
{
	vq_u16 v;
	__asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline vq_u32 inl(vq_u16 port)
{
	vq_u32 v;
	__asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline vq_u8 mmio_read8(const volatile void *p)
{
	return *(const volatile vq_u8 *)p;
}

static inline vq_u16 mmio_read16(const volatile void *p)
{
	return *(const volatile vq_u16 *)p;
}

static inline vq_u32 mmio_read32(const volatile void *p)
{
	return *(const volatile vq_u32 *)p;
}

static inline void mmio_write8(volatile void *p, vq_u8 v)
{
	*(volatile vq_u8 *)p = v;
}

static inline void mmio_write16(volatile void *p, vq_u16 v)
{
	*(volatile vq_u16 *)p = v;
}

static inline void mmio_write32(volatile void *p, vq_u32 v)
{
	*(volatile vq_u32 *)p = v;
}

/* 64-bit configuration fields are written as two 32-bit halves, low
 * first (virtio 1.2 4.1.3.1). */
static inline void mmio_write64_split(volatile void *p, vq_u64 v)
{
	mmio_write32(p, (vq_u32)v);
	mmio_write32((volatile vq_u8 *)p + 4, (vq_u32)(v >> 32));
}

static inline vq_u64 rdtsc(void)
{
	vq_u32 lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((vq_u64)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

#endif /* DEMO_IO_H */
