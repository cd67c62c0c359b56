# Makefile - vqscope: protocol library, guest library and demo guest,
# eBPF tracer, host program, tests, sanitizers, fuzzers and benchmarks.
#
#   make            build everything into $(O) (default build/); it installs
#                   nothing, and stops naming a missing build dependency
#   make test       install missing Debian packages, build, run every test
#   make demo       boot the demo guest in QEMU and open the live TUI on it
#   make asan       unit tests and corpus replays under ASan + UBSan
#   make fuzz       libFuzzer runs with clang (FUZZ_TIME seconds each)
#   make bench      benchmarks, results in bench/results/
#   make check-format / make format
#   make install PREFIX=/usr/local   (programs, man pages, bash completion)
#   make clean
#
# Each directory adds its own rules in build.mk.  V=1 shows commands.

.DELETE_ON_ERROR:
# Keep intermediate objects (test and harness .o files) between builds.
.SECONDARY:
.SUFFIXES:
SHELL := /bin/bash

O ?= build
export O
PREFIX ?= /usr/local
DESTDIR ?=
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
V ?= 0

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
CLANG ?= clang

# Hosted code (protocol library, host program, tracer user space, tests).
CPPFLAGS := -Iprotocol -Iguest-driver/lib -D_GNU_SOURCE
WARN := -Wall -Wextra -Werror -Wshadow
# -Wconversion where practical: the protocol and guest library code.
WARN_STRICT := $(WARN) -Wconversion
# CFLAGS and LDFLAGS are the user's to override; BASE_CFLAGS is not.
CFLAGS ?= -O2 -g
LDFLAGS ?=
BASE_CFLAGS := -std=gnu11 -fno-strict-aliasing

# SAN=1: AddressSanitizer + UndefinedBehaviorSanitizer (make asan).
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
BASE_CFLAGS += $(SANFLAGS)
override LDFLAGS += $(SANFLAGS)
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(1) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(1) 2>/dev/null)

# Filled in by the fragments below.
ALL_TARGETS :=
UNIT_TESTS :=
SYSTEM_TESTS :=
FUZZ_TARGETS :=
INSTALL_BIN :=
INSTALL_DATA :=
INSTALL_MAN1 :=
INSTALL_MAN8 :=
INSTALL_BASH_COMPLETION :=
CLEAN_EXTRA :=
FORMAT_SOURCES :=

.PHONY: all
all:

# ---- build dependencies ------------------------------------------------------
#
# Checked when the goals build something; scripts/deps.sh (run by make test,
# make demo and .ci/run) installs them.  Run-time tools (QEMU, tmux,
# valgrind) are not needed to build.
BUILD_PKGS := json-c ncursesw libbpf libelf zlib libzstd cmocka libmicrohttpd libvirt \
	libvirt-qemu libxml-2.0
BUILD_TOOLS := $(CC) $(or $(CLANG),clang) llvm-strip llvm-nm bpftool ld objcopy ar pkg-config
NO_BUILD_GOALS := clean deps check-format format
ifneq ($(filter-out $(NO_BUILD_GOALS),$(or $(MAKECMDGOALS),all)),)
missing_pkgs := $(strip $(foreach p,$(BUILD_PKGS),$(if $(shell pkg-config --exists $(p) 2>/dev/null && echo y),,$(p))))
missing_tools := $(strip $(foreach t,$(BUILD_TOOLS),$(if $(shell command -v $(t) 2>/dev/null),,$(t))))
ifneq ($(missing_pkgs)$(missing_tools),)
$(error missing build dependencies:$(if $(missing_pkgs), pkg-config packages: $(missing_pkgs);)$(if $(missing_tools), programs: $(missing_tools);) scripts/deps.sh names the Debian packages and, as root, installs them)
endif
endif

include protocol/build.mk
include guest-driver/build.mk
-include guest-driver/rust/build.mk
-include guest-driver/demo/build.mk
-include tracer/build.mk
-include tui/build.mk
-include tests/build.mk
-include tests/host/build.mk
-include bench/build.mk
-include dist/build.mk

all: $(ALL_TARGETS)

# Compile rule shared by hosted code: $(O)/path/file.o from path/file.c.
$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(call msg,CC,$<)$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) $(WARN) $(EXTRA_CFLAGS_$(<D)) -MMD -MP -c $< -o $@

-include $(shell find $(O) -name '*.d' 2>/dev/null)

# ---- setup ---------------------------------------------------------------

.PHONY: deps
deps:
	$(Q)bash scripts/deps.sh

# ---- tests ----------------------------------------------------------------

.PHONY: test unit-test asan
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tests/run.sh $(UNIT_TESTS) $(SYSTEM_TESTS)

unit-test: $(UNIT_TESTS)
	$(Q)bash tests/run.sh $(UNIT_TESTS)

asan: deps
	$(Q)$(MAKE) --no-print-directory O=$(O)/asan SAN=1 unit-test

# ---- fuzzing ----------------------------------------------------------------

FUZZ_TIME ?= 60
.PHONY: fuzz
fuzz: deps
	$(Q)bash tests/fuzz/run-fuzzers.sh "$(FUZZ_TIME)" $(FUZZ_TARGETS)

# ---- benchmarks ---------------------------------------------------------------

.PHONY: bench
bench: deps all $(BENCH_PROGRAMS) $(VQDEMO_UNTRACED)
	$(Q)bash bench/run.sh

# ---- demo ---------------------------------------------------------------------

.PHONY: demo
demo: deps all
	$(Q)bash scripts/demo.sh

# ---- formatting ----------------------------------------------------------------

.PHONY: check-format format
check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SOURCES)
format:
	$(Q)clang-format -i $(FORMAT_SOURCES)

# ---- install / clean -------------------------------------------------------------

.PHONY: install clean
install: all
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/vqscope
	$(Q)for f in $(INSTALL_BIN); do install -m 0755 $$f $(DESTDIR)$(PREFIX)/bin/; done
	$(Q)for f in $(INSTALL_DATA); do install -m 0644 $$f $(DESTDIR)$(PREFIX)/share/vqscope/; done
	$(Q)install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR)
	$(Q)for f in $(INSTALL_MAN1); do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man1/; done
	$(Q)for f in $(INSTALL_MAN8); do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man8/; done
	$(Q)for f in $(INSTALL_BASH_COMPLETION); do for n in $(BASH_COMPLETION_NAMES); do \
		install -m 0644 $$f $(DESTDIR)$(BASHCOMPDIR)/$$n; done; done
	@echo "installed into $(DESTDIR)$(PREFIX)"

clean:
	$(Q)rm -rf $(O) $(CLEAN_EXTRA)

# Used by tests/fuzz/run-fuzzers.sh: the libraries harnesses link with.
.PHONY: fuzz-libs print-test-libs
fuzz-libs: $(LIBVQPROTO) $(LIBVQGUEST_HOSTED) $(LIBVQHOST) $(LIBVQTEST)
print-test-libs:
	@echo $(TEST_LINK_LIBS) $(TEST_SYS_LIBS)
