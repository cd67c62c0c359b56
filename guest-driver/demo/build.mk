# guest-driver/demo/build.mk - the bare-metal demo guest (vqdemo.elf) and
# the host-side checker its system tests use (tests/guest/check_trace).
#
# The kernel is linked as x86-64 ELF at 1 MiB and converted to ELF32,
# because QEMU's multiboot loader refuses ELF64; the 32-bit entry in
# boot.S switches to long mode.

DEMO_SRCS := $(wildcard guest-driver/demo/*.c)
DEMO_ASM := guest-driver/demo/boot.S
DEMO_HDRS := $(wildcard guest-driver/demo/*.h) $(VQGUEST_HDRS)
DEMO_OBJDIR := $(O)/guest-driver/demo/obj
DEMO_OBJS := $(DEMO_SRCS:guest-driver/demo/%.c=$(DEMO_OBJDIR)/%.o) $(DEMO_OBJDIR)/boot.o
DEMO_ELF64 := $(O)/guest-driver/demo/vqdemo64.elf
VQDEMO := $(O)/guest-driver/demo/vqdemo.elf

# -fno-tree-loop-distribute-patterns: no memset/memcpy calls from loops
# (memory.c defines them, and must not call itself).
DEMO_CFLAGS := $(FREESTANDING_FLAGS) -m64 -mno-red-zone -mgeneral-regs-only -mcmodel=small \
	-fno-tree-loop-distribute-patterns -fno-asynchronous-unwind-tables -Iguest-driver/demo

$(DEMO_OBJDIR)/%.o: guest-driver/demo/%.c $(DEMO_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC64,$<)gcc $(DEMO_CFLAGS) -c $< -o $@

$(DEMO_OBJDIR)/boot.o: $(DEMO_ASM)
	@mkdir -p $(@D)
	$(call msg,AS,$<)gcc -m64 -c $< -o $@

$(DEMO_ELF64): $(DEMO_OBJS) $(O)/guest-driver/freestanding/vqscope_guest-x86_64.o \
		guest-driver/demo/vqdemo.ld
	$(call msg,LD,$@)ld -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
		-T guest-driver/demo/vqdemo.ld -o $@ $(DEMO_OBJS) \
		$(O)/guest-driver/freestanding/vqscope_guest-x86_64.o

$(VQDEMO): $(DEMO_ELF64)
	$(call msg,OBJCOPY,$@)objcopy -O elf32-i386 $< $@

# The benchmarks' baseline: the same kernel with every trace call compiled
# out (demo.h, VQDEMO_UNTRACED).  Built on demand by bench/.
DEMO_UNTRACED_OBJDIR := $(O)/guest-driver/demo/obj-untraced
DEMO_UNTRACED_OBJS := $(DEMO_SRCS:guest-driver/demo/%.c=$(DEMO_UNTRACED_OBJDIR)/%.o) \
	$(DEMO_OBJDIR)/boot.o
VQDEMO_UNTRACED := $(O)/guest-driver/demo/vqdemo-untraced.elf

$(DEMO_UNTRACED_OBJDIR)/%.o: guest-driver/demo/%.c $(DEMO_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC64,$< [untraced])gcc $(DEMO_CFLAGS) -DVQDEMO_UNTRACED -c $< -o $@

# (linked with the library only for vq_trace_now)
$(VQDEMO_UNTRACED): $(DEMO_UNTRACED_OBJS) $(O)/guest-driver/freestanding/vqscope_guest-x86_64.o \
		guest-driver/demo/vqdemo.ld
	$(call msg,LD,$@)ld -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
		-T guest-driver/demo/vqdemo.ld -o $@.64 $(DEMO_UNTRACED_OBJS) \
		$(O)/guest-driver/freestanding/vqscope_guest-x86_64.o && \
		objcopy -O elf32-i386 $@.64 $@ && rm -f $@.64

# Host-side checker of trace regions and screendumps, for tests/guest.
CHECK_TRACE := $(O)/tests/guest/check_trace
EXTRA_CFLAGS_tests/guest := -Iguest-driver/demo -Wconversion

$(CHECK_TRACE): $(O)/tests/guest/check_trace.o $(LIBVQPROTO)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

ALL_TARGETS += $(VQDEMO) $(CHECK_TRACE)
INSTALL_DATA += $(VQDEMO)
FORMAT_SOURCES += $(wildcard guest-driver/demo/*.[ch] tests/guest/*.[ch])
