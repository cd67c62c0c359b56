/* boot.S - multiboot entry of the demo guest: a 32-bit protected-mode
 * entry (QEMU -kernel, multiboot 0.6.96) that builds identity page tables
 * for the first GiB, switches to long mode and calls demo_main(), plus the
 * 64-bit exception stubs that report a CPU exception over the serial port
 * instead of letting it become a silent triple fault.
 *
 * Memory map on entry (multiboot): protected mode, paging off, EAX holds
 * the multiboot magic and EBX the physical address of the multiboot info.
 */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* modules page-aligned, memory info wanted */

#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)

#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_PS 0x080 /* 2 MiB page in a page-directory entry */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .boot32, "ax"
	.code32
	.globl _start
_start:
	cli
	movl $boot_stack_top, %esp
	movl %eax, mb_magic
	movl %ebx, mb_info

	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] = i * 2 MiB: the first GiB
	 * identity-mapped, write-back (RAM and the kernel).  Everything else
	 * (PCI BARs) is mapped later by paging.c. */
	movl $boot_pdpt, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, boot_pml4
	movl $boot_pd, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, boot_pdpt
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P | PTE_W | PTE_PS), %eax
	movl %eax, boot_pd(, %ecx, 8)
	incl %ecx
	cmpl $512, %ecx
	jne 1b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0

	lgdt gdt_descriptor
	ljmp $0x08, $long_mode_entry

	.code64
long_mode_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	call idt_install
	movl mb_magic, %edi
	movl mb_info, %esi
	call demo_main
2:	cli
	hlt
	jmp 2b

/* ---- exceptions ------------------------------------------------------- */

/* One stub per vector 0-31.  Vectors that push no error code (all but
 * 8, 10-14, 17, 21, 29 and 30) push a zero so the frame seen by
 * exception_report() is always the same. */

	.text
	.altmacro
	.macro stub v
	.align 16
exception_stub_\v:
	.if \v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30
	.else
	pushq $0
	.endif
	pushq $\v
	jmp exception_common
	.endm

	.set vec, 0
	.rept 32
	stub %vec
	.set vec, vec + 1
	.endr

exception_common:
	/* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. */
	movq %rsp, %rdi
	andq $-16, %rsp
	call exception_report
3:	cli
	hlt
	jmp 3b

/* Device and timer interrupts: save the registers the C calling
 * convention lets a callee clobber, call interrupt_dispatch(vector) (which
 * sends the EOI), restore and return.  The kernel runs with interrupts
 * off except inside "sti; hlt", so these only ever interrupt a hlt. */
	.macro irq_stub v
	.globl irq_stub_\v
	.align 16
irq_stub_\v:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %rbx		/* holds the unaligned stack pointer below */
	movq %rsp, %rbx
	andq $-16, %rsp
	movl $\v, %edi
	call interrupt_dispatch
	movq %rbx, %rsp
	popq %rbx
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq
	.endm

	irq_stub 0x40
	irq_stub 0x41
	irq_stub 0xff

	.macro stub_address v
	.quad exception_stub_\v
	.endm

	.section .rodata
	.align 8
	.globl exception_stubs
exception_stubs:
	.set vec, 0
	.rept 32
	stub_address %vec
	.set vec, vec + 1
	.endr

/* ---- data --------------------------------------------------------------- */

	.section .rodata
	.align 16
gdt:
	.quad 0			   /* null */
	.quad 0x00AF9A000000FFFF   /* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF   /* 0x10: data */
gdt_end:
gdt_descriptor:
	.word gdt_end - gdt - 1
	.quad gdt

	.data
	.align 4
	.globl mb_magic, mb_info
mb_magic:
	.long 0
mb_info:
	.long 0

	.bss
	.align 4096
	.globl boot_pml4, boot_pdpt, boot_pd
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4096
boot_stack:
	.skip 65536
boot_stack_top:
