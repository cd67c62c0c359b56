# tests/host/build.mk - helpers of the host system tests (tests/host/test-*.sh,
# run by tests/build.mk with every other system test).

CHECK_EXPORT := $(O)/tests/host/check_export
EXTRA_CFLAGS_tests/host := $(call PKG_CFLAGS,json-c)

$(CHECK_EXPORT): $(O)/tests/host/check_export.o
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^ $(call PKG_LIBS,json-c) -lm

ALL_TARGETS += $(CHECK_EXPORT)
FORMAT_SOURCES += $(wildcard tests/host/*.[ch])

HOSTILE_PRODUCER := $(O)/tests/host/hostile_producer
$(HOSTILE_PRODUCER): $(O)/tests/host/hostile_producer.o $(LIBVQGUEST_HOSTED)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^
ALL_TARGETS += $(HOSTILE_PRODUCER)
