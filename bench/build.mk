# bench/build.mk - benchmark programs (built by `make bench`, not by `make`).

BENCH_CORE := $(O)/bench/bench_core
EXTRA_CFLAGS_bench := -Itui -O2

$(BENCH_CORE): $(O)/bench/bench_core.o $(LIBVQCORE) $(LIBVQPROTO) $(LIBVQGUEST_HOSTED)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(VQCORE_LIBS) -lpthread

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

# bench/tracer-net.sh's virtio-net workload, static for the same reason.
TRACER_PINGLOOP := $(O)/bench/tracer_pingloop
$(TRACER_PINGLOOP): $(O)/bench/tracer_pingloop.o
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -static -o $@ $^
BENCH_PROGRAMS += $(TRACER_PINGLOOP)

# bench/tracer-net.sh's delivery-delay probe: reads the trace region in the
# guest with libvqproto (static, for the initramfs).
REGION_LATENCY := $(O)/bench/region_latency
$(REGION_LATENCY): $(O)/bench/region_latency.o $(LIBVQPROTO)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -static -o $@ $^
BENCH_PROGRAMS += $(REGION_LATENCY)
