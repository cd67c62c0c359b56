/* paging.c - identity mappings for PCI BARs, made on demand with 2 MiB
 * pages.  boot.S maps the first GiB (RAM, write-back); the firmware may
 * put BARs anywhere, 64-bit ones above 4 GiB, so their page-directory
 * pointer and directory tables come from a small static pool.  Device
 * registers are mapped uncacheable (PCD | PWT); the ivshmem BAR is RAM on
 * the host side and is mapped write-back. */
#include "demo.h"

#define PTE_P	      0x001ull
#define PTE_W	      0x002ull
#define PTE_PWT	      0x008ull
#define PTE_PCD	      0x010ull
#define PTE_PS	      0x080ull
#define PTE_ADDR      0x000ffffffffff000ull
#define LARGE_PAGE    (2ull << 20)
#define ADDRESS_LIMIT (1ull << 46) /* identity-mappable in the lower half */
#define POOL_TABLES   32

extern u64 boot_pml4[512];

static u64 pool[POOL_TABLES][512] __attribute__((aligned(4096)));
static unsigned pool_used;

/* The table an entry points to, allocating it if the entry is empty. */
static u64 *next_table(u64 *entry)
{
	u64 *table;

	if (*entry & PTE_P)
		return (u64 *)(size_t)(*entry & PTE_ADDR);
	if (pool_used == POOL_TABLES)
		return NULL;
	table = pool[pool_used++];
	*entry = (u64)(size_t)table | PTE_P | PTE_W;
	return table;
}

static void flush_tlb(void)
{
	u64 cr3;

	__asm__ __volatile__("mov %%cr3, %0" : "=r"(cr3));
	__asm__ __volatile__("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

int paging_map(u64 phys, u64 size, int uncached)
{
	u64 start = phys & ~(LARGE_PAGE - 1);
	u64 end = (phys + size + LARGE_PAGE - 1) & ~(LARGE_PAGE - 1);
	u64 flags = PTE_P | PTE_W | PTE_PS | (uncached ? PTE_PCD | PTE_PWT : 0);

	if (size == 0 || end > ADDRESS_LIMIT || end < start)
		return -1;
	for (u64 a = start; a < end; a += LARGE_PAGE) {
		u64 *pdpt = next_table(&boot_pml4[(a >> 39) & 511]);
		u64 *pd = pdpt ? next_table(&pdpt[(a >> 30) & 511]) : NULL;

		if (!pd)
			return -1;
		if (pdpt[(a >> 30) & 511] & PTE_PS)
			return -1; /* a 1 GiB page: never made here */
		pd[(a >> 21) & 511] = a | flags;
	}
	flush_tlb();
	return 0;
}
