# guest-driver/build.mk - the guest instrumentation library, built three
# ways: hosted (for tests, benchmarks and the tracer's user space),
# freestanding for x86-64 and i386 with gcc, and a compile check for
# aarch64 with clang.

VQGUEST_SRC := guest-driver/lib/vqscope_guest.c
VQGUEST_HDRS := guest-driver/lib/vqscope_guest.h guest-driver/lib/vq_barrier.h protocol/vqtrace.h
LIBVQGUEST_HOSTED := $(O)/guest-driver/libvqguest-hosted.a
EXTRA_CFLAGS_guest-driver/lib := -Wconversion

FREESTANDING_FLAGS := -std=gnu11 $(WARN_STRICT) -O2 -ffreestanding -fno-builtin -nostdlib \
	-fno-stack-protector -fno-pic -Iprotocol -Iguest-driver/lib

$(LIBVQGUEST_HOSTED): $(O)/guest-driver/lib/vqscope_guest.o
	$(call msg,AR,$@)rm -f $@ && ar rcs $@ $^

$(O)/guest-driver/freestanding/vqscope_guest-x86_64.o: $(VQGUEST_SRC) $(VQGUEST_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC64,$<)gcc $(FREESTANDING_FLAGS) -m64 -mno-red-zone -mgeneral-regs-only -c $< -o $@

$(O)/guest-driver/freestanding/vqscope_guest-i386.o: $(VQGUEST_SRC) $(VQGUEST_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC32,$<)gcc $(FREESTANDING_FLAGS) -m32 -march=i686 -mgeneral-regs-only -c $< -o $@

$(O)/guest-driver/freestanding/vqscope_guest-aarch64.o: $(VQGUEST_SRC) $(VQGUEST_HDRS)
	@mkdir -p $(@D)
	$(call msg,CCARM,$<)$(CLANG) --target=aarch64-none-elf $(FREESTANDING_FLAGS) -mgeneral-regs-only -c $< -o $@

# The freestanding objects must not call anything: a kernel links them
# as they are.
$(O)/guest-driver/freestanding/.checked: $(O)/guest-driver/freestanding/vqscope_guest-x86_64.o \
		$(O)/guest-driver/freestanding/vqscope_guest-i386.o \
		$(O)/guest-driver/freestanding/vqscope_guest-aarch64.o
	$(call msg,NM,undefined symbols)for o in $^; do \
		if llvm-nm $$o | grep -q " U "; then echo "$$o needs external symbols:"; llvm-nm $$o | grep " U "; exit 1; fi; \
	done; touch $@

ALL_TARGETS += $(LIBVQGUEST_HOSTED) $(O)/guest-driver/freestanding/.checked
FORMAT_SOURCES += $(wildcard guest-driver/lib/*.[ch])
