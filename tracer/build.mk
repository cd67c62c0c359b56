# tracer/build.mk - vqscope-trace, the libbpf CO-RE tracer for Linux guests,
# and the checker its system tests use.
#
#   tracer/*.bpf.c  -> $(O)/tracer/*.bpf.o   clang -target bpf, with BTF
#                   -> $(O)/tracer/*.skel.h  bpftool gen skeleton
#   tracer/*.c      -> $(O)/vqscope-trace    linked statically (libbpf,
#                                            libelf, zstd, zlib, glibc) so
#                                            it can be copied into a guest

BPFTOOL ?= bpftool
TRACER_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
TRACER_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(TRACER_ARCH) $(WARN) \
	-I/usr/include/$(TRACER_MULTIARCH) -Iprotocol -Itracer

TRACER_BPF_SRCS := $(wildcard tracer/*.bpf.c)
TRACER_SKELS := $(TRACER_BPF_SRCS:tracer/%.bpf.c=$(O)/tracer/%.skel.h)
TRACER_SRCS := $(filter-out $(TRACER_BPF_SRCS),$(wildcard tracer/*.c))
TRACER_OBJS := $(TRACER_SRCS:%.c=$(O)/%.o)
VQSCOPE_TRACE := $(O)/vqscope-trace
TRACER_STATIC_LIBS := -l:libbpf.a -l:libelf.a -l:libzstd.a -l:libz.a

EXTRA_CFLAGS_tracer := -I$(O)/tracer

$(O)/tracer/%.bpf.o: tracer/%.bpf.c tracer/vqscope_trace.h tracer/virtio_core.h protocol/vqtrace.h
	@mkdir -p $(@D)
	$(call msg,BPF,$<)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/tracer/%.skel.h: $(O)/tracer/%.bpf.o
	$(call msg,GEN-SKEL,$@)$(BPFTOOL) gen skeleton $< > $@

# User-space objects include the skeleton.
$(TRACER_OBJS): $(TRACER_SKELS)

$(VQSCOPE_TRACE): $(TRACER_OBJS) $(LIBVQPROTO) $(LIBVQGUEST_HOSTED)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -static -o $@ $(TRACER_OBJS) $(LIBVQPROTO) \
		$(LIBVQGUEST_HOSTED) $(TRACER_STATIC_LIBS)

# The system tests' checker reads trace regions with libvqproto.
TRACER_CHECK := $(O)/tests/tracer/check_region
$(TRACER_CHECK): $(O)/tests/tracer/check_region.o $(LIBVQPROTO)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

ALL_TARGETS += $(VQSCOPE_TRACE) $(TRACER_CHECK)
INSTALL_BIN += $(VQSCOPE_TRACE)
FORMAT_SOURCES += $(wildcard tracer/*.[ch] tests/tracer/*.[ch])
