# tests/build.mk - unit tests, fuzz-corpus replays and system tests.
#
#   tests/unit/test_core_*.c cmocka programs of the host program's core,
#                            linked with it and libvqproto only (no curses,
#                            no json-c: the core must not need them)
#   tests/unit/test_*.c      cmocka programs, linked with every library
#   tests/fuzz/fuzz_*.c      libFuzzer harnesses (LLVMFuzzerTestOneInput);
#                            corpus in tests/fuzz/corpus/<name>/.  Under gcc
#                            they are linked with standalone_main.c and
#                            replay their corpus as a unit test.
#   tests/*/test-*.sh        system tests (QEMU, tmux, ...), in name order

# tests/lib/*.c: helpers shared by tests (synthetic recordings).
LIBVQTEST := $(O)/tests/lib/libvqtest.a
EXTRA_CFLAGS_tests/lib := -Itests/lib
$(LIBVQTEST): $(patsubst %.c,$(O)/%.o,$(wildcard tests/lib/*.c))
	$(call msg,AR,$@)rm -f $@ && ar rcs $@ $^

TEST_LINK_LIBS = $(LIBVQHOST) $(LIBVQTEST) $(LIBVQPROTO) $(LIBVQGUEST_HOSTED)
TEST_SYS_LIBS = $(call PKG_LIBS,cmocka) $(HOST_LIBS)
CORE_TEST_LINK_LIBS = $(LIBVQCORE) $(LIBVQPROTO)
CORE_TEST_SYS_LIBS = $(call PKG_LIBS,cmocka) $(VQCORE_LIBS)
EXTRA_CFLAGS_tests/unit := $(call PKG_CFLAGS,cmocka json-c) -Itui -Itests/lib -Wno-shadow
EXTRA_CFLAGS_tests/fuzz := $(call PKG_CFLAGS,json-c) -Itui

UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TEST_BINS := $(UNIT_TEST_SRCS:tests/unit/%.c=$(O)/tests/unit/%)

$(O)/tests/unit/test_%: $(O)/tests/unit/test_%.o $(TEST_LINK_LIBS)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(TEST_LINK_LIBS) $(TEST_SYS_LIBS)

# The shortest stem wins: core tests take this rule.
$(O)/tests/unit/test_core_%: $(O)/tests/unit/test_core_%.o $(CORE_TEST_LINK_LIBS)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(CORE_TEST_LINK_LIBS) $(CORE_TEST_SYS_LIBS)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_REPLAYS := $(FUZZ_NAMES:%=$(O)/tests/fuzz/replay_%)
FUZZ_TARGETS += $(FUZZ_NAMES)

$(O)/tests/fuzz/replay_%: $(O)/tests/fuzz/fuzz_%.o tests/fuzz/standalone_main.c $(TEST_LINK_LIBS)
	$(call msg,LD,$@)$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) $(WARN) \
		-DCORPUS_DIR='"$(CURDIR)/tests/fuzz/corpus/$*"' -o $@ \
		tests/fuzz/standalone_main.c $< $(TEST_LINK_LIBS) $(TEST_SYS_LIBS)

UNIT_TESTS += $(UNIT_TEST_BINS) $(FUZZ_REPLAYS)

# Golden files: tests/golden/test-golden.sh compares vqscope's output on
# gen_golden's recordings with tests/golden/*.expected; `make golden`
# writes them anew (review the diff before committing).
GEN_GOLDEN := $(O)/tests/golden/gen_golden
EXTRA_CFLAGS_tests/golden := -Itests/lib
$(GEN_GOLDEN): $(O)/tests/golden/gen_golden.o $(LIBVQTEST) $(LIBVQPROTO)
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^
ALL_TARGETS += $(GEN_GOLDEN)

.PHONY: golden
golden: all
	$(Q)GOLDEN_UPDATE=1 bash tests/golden/test-golden.sh
SYSTEM_TESTS += $(sort $(wildcard tests/*/test-*.sh))
ALL_TARGETS += $(UNIT_TEST_BINS) $(FUZZ_REPLAYS)
FORMAT_SOURCES += $(wildcard tests/unit/*.[ch] tests/fuzz/*.[ch] tests/lib/*.[ch] tests/golden/*.[ch])
