# bench/build.mk - benchmark programs (built by `make bench`, not by `make`).

BENCH_CORE := $(O)/bench/bench_core
EXTRA_CFLAGS_bench := -Itui -O2

$(BENCH_CORE): $(O)/bench/bench_core.o $(LIBVQCORE) $(LIBVQPROTO) $(LIBVQGUEST_HOSTED)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(VQCORE_LIBS)

BENCH_PROGRAMS := $(BENCH_CORE)
FORMAT_SOURCES += $(wildcard bench/*.[ch])

SYNTH_PRODUCER := $(O)/bench/synth_producer
$(SYNTH_PRODUCER): $(O)/bench/synth_producer.o $(LIBVQGUEST_HOSTED)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^
BENCH_PROGRAMS += $(SYNTH_PRODUCER)

# bench/tracer.sh's virtio-blk read loop, run inside the Linux test guest:
# static, like vqscope-trace, so it runs in the busybox initramfs.
TRACER_READLOOP := $(O)/bench/tracer_readloop
$(TRACER_READLOOP): $(O)/bench/tracer_readloop.o
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -static -o $@ $^
BENCH_PROGRAMS += $(TRACER_READLOOP)
