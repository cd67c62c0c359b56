# guest-driver/rust/build.mk - the Rust binding of the guest library
# (vqscope_guest.rs, built as a no_std rlib) and the Rust programs the
# tests in tests/rust/ run, built with Debian's rustc (1.63 in Debian 12;
# scripts/deps.sh installs it).  RUSTC names another compiler; the
# default is Debian's, not whichever rustc comes first on PATH.

RUSTC ?= /usr/bin/rustc
export RUSTC
RUST_FLAGS := --edition 2021 -C opt-level=2 -D warnings
VQGUEST_RLIB := $(O)/guest-driver/rust/libvqscope_guest.rlib
RUST_EXTERN = --extern vqscope_guest=$(VQGUEST_RLIB)
# Links a Rust program with the hosted C library; as a link argument it
# comes after the binding's rlib, whose calls it resolves.
RUST_LINK_GUEST = -C link-arg=$(abspath $(LIBVQGUEST_HOSTED))

$(VQGUEST_RLIB): guest-driver/rust/vqscope_guest.rs
	@mkdir -p $(@D)
	$(call msg,RUSTC,$<)$(RUSTC) $(RUST_FLAGS) --crate-type rlib --crate-name vqscope_guest \
		$< -o $@

# Programs of tests/rust/.
RUST_TEST_DIR := $(O)/tests/rust
EXTRA_CFLAGS_tests/rust := -Wconversion

# The layout check: the C compiler's sizes, offsets and constants, turned
# into Rust assertions that layout_check compiles and runs.

$(RUST_TEST_DIR)/layout_dump: $(RUST_TEST_DIR)/layout_dump.o
	$(call msg,LD,$@)$(CC) $(LDFLAGS) -o $@ $^

$(RUST_TEST_DIR)/layout.txt: $(RUST_TEST_DIR)/layout_dump
	$(call msg,GEN,$@)$< >$@

$(RUST_TEST_DIR)/layout_checks.rs: $(RUST_TEST_DIR)/layout.txt tests/rust/gen-layout-check.sh
	$(call msg,GEN,$@)bash tests/rust/gen-layout-check.sh <$< >$@

$(RUST_TEST_DIR)/layout_check: tests/rust/layout_check.rs $(RUST_TEST_DIR)/layout_checks.rs \
		$(VQGUEST_RLIB)
	$(call msg,RUSTC,$<)VQ_LAYOUT_CHECKS=$(abspath $(RUST_TEST_DIR)/layout_checks.rs) \
		$(RUSTC) $(RUST_FLAGS) $(RUST_EXTERN) $< -o $@

# A Rust producer that writes every event type through the binding.
$(RUST_TEST_DIR)/rust_guest: tests/rust/rust_guest.rs $(VQGUEST_RLIB) $(LIBVQGUEST_HOSTED)
	$(call msg,RUSTC,$<)$(RUSTC) $(RUST_FLAGS) $(RUST_EXTERN) $< $(RUST_LINK_GUEST) -o $@

ALL_TARGETS += $(VQGUEST_RLIB) $(RUST_TEST_DIR)/layout_check $(RUST_TEST_DIR)/rust_guest
FORMAT_SOURCES += $(wildcard tests/rust/*.[ch])
