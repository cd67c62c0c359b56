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

$(VQGUEST_RLIB): guest-driver/rust/vqscope_guest.rs
	@mkdir -p $(@D)
	$(call msg,RUSTC,$<)$(RUSTC) $(RUST_FLAGS) --crate-type rlib --crate-name vqscope_guest \
		$< -o $@

ALL_TARGETS += $(VQGUEST_RLIB)
