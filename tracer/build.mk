# tracer/build.mk - vqscope-trace, the libbpf CO-RE tracer for Linux guests,
# and the checker its system tests use.
#
#   tracer/*.bpf.c  -> $(O)/tracer/*.bpf.o   clang -target bpf, with BTF and DWARF
#                   -> $(O)/tracer/*.stripped.bpf.o   llvm-strip -g (BTF kept)
#                   -> $(O)/tracer/*.skel.h  bpftool gen skeleton
#   tracer/*.c      -> $(O)/vqscope-trace    linked statically (libbpf,
#                                            libelf, zstd, zlib, glibc) so
#                                            it can be copied into a guest

BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
TRACER_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# -target bpf has no system include path of its own: take the host
# compiler's (as libbpf-bootstrap does), after the project's.  -mcpu=v3
# for the atomic exchange it_end_queues uses (Linux 5.12 and later).
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(TRACER_ARCH) $(WARN) \
	-Iprotocol -Itracer $(CLANG_BPF_SYS_INCLUDES)

TRACER_BPF_SRCS := $(wildcard tracer/*.bpf.c)
TRACER_SKELS := $(TRACER_BPF_SRCS:tracer/%.bpf.c=$(O)/tracer/%.skel.h)
TRACER_SRCS := $(filter-out $(TRACER_BPF_SRCS),$(wildcard tracer/*.c))
TRACER_OBJS := $(TRACER_SRCS:%.c=$(O)/%.o)
VQSCOPE_TRACE := $(O)/vqscope-trace
TRACER_STATIC_LIBS := -l:libbpf.a -l:libelf.a -l:libzstd.a -l:libz.a

EXTRA_CFLAGS_tracer := -I$(O)/tracer

# Header dependencies come from the compiler (-MMD, the .d files the top
# Makefile includes).  The object keeps its DWARF for debugging; the
# skeleton embeds a copy stripped of it (BTF stays: CO-RE needs it).
$(O)/tracer/%.bpf.o: tracer/%.bpf.c
	@mkdir -p $(@D)
	$(call msg,BPF,$<)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(O)/tracer/%.stripped.bpf.o: $(O)/tracer/%.bpf.o
	$(call msg,STRIP,$@)$(LLVM_STRIP) -g $< -o $@

$(O)/tracer/%.skel.h: $(O)/tracer/%.stripped.bpf.o
	$(call msg,GEN-SKEL,$@)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# User-space objects include the skeleton.
$(TRACER_OBJS): $(TRACER_SKELS)

$(VQSCOPE_TRACE): $(TRACER_OBJS) $(LIBVQPROTO) $(LIBVQGUEST_HOSTED)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -static -o $@ $(TRACER_OBJS) $(LIBVQPROTO) \
		$(LIBVQGUEST_HOSTED) $(TRACER_STATIC_LIBS)

# The system tests' checker reads trace regions with libvqproto.
TRACER_CHECK := $(O)/tests/tracer/check_region
$(TRACER_CHECK): $(O)/tests/tracer/check_region.o $(LIBVQPROTO)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

# Run in the tests' guest to make kprobe runs be skipped (static, like the
# tracer, for the busybox initramfs).
TRACER_BPF_BUSY := $(O)/tests/tracer/bpf_busy
$(TRACER_BPF_BUSY): $(O)/tests/tracer/bpf_busy.o
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -static -o $@ $^

ALL_TARGETS += $(VQSCOPE_TRACE) $(TRACER_CHECK) $(TRACER_BPF_BUSY)
INSTALL_BIN += $(VQSCOPE_TRACE)
FORMAT_SOURCES += $(wildcard tracer/*.[ch] tests/tracer/*.[ch])

# make linux-demo: a stock Debian kernel with virtio-net, virtio-blk and
# virtio-rng, traced by vqscope-trace, in vqscope's live view.
.PHONY: linux-demo
linux-demo: deps all
	$(Q)bash scripts/linux-demo.sh
