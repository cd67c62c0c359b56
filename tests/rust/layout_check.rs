//! layout_check.rs - checks that the Rust binding
//! (guest-driver/rust/vqscope_guest.rs) lays out every type that crosses
//! the boundary as the C compiler does, for test-rust-layout.sh.
//!
//! The checks come from the C side: layout_dump prints sizes, offsets and
//! constants, gen-layout-check.sh turns them into Rust, and this program
//! includes the result (path in VQ_LAYOUT_CHECKS when it is compiled).
//! Sizes, alignments and constants are compile-time assertions: a wrong
//! one stops rustc with a message naming it.  Field offsets and widths
//! are measured here, at run time, and every field that disagrees is
//! printed with its name; the exit status is then 1.

use core::mem::{size_of, MaybeUninit};
use core::ptr::addr_of;

fn pointee_size<T>(_: *const T) -> usize {
    size_of::<T>()
}

/// Compares one field's offset and width in the Rust type with C's.
macro_rules! check_field {
    ($failures:ident, $rust:ident, $c_name:literal, $field:ident, $offset:literal, $size:literal) => {{
        let value = MaybeUninit::<vqscope_guest::$rust>::uninit();
        let base = value.as_ptr();
        // Safety: addr_of! takes the field's address without reading the
        // (uninitialised) value or making a reference to it.
        let field = unsafe { addr_of!((*base).$field) };
        let offset = field as usize - base as usize;
        let size = pointee_size(field);
        if offset != $offset || size != $size {
            eprintln!(
                "layout_check: {}.{}: Rust has it at offset {} ({} bytes), C at offset {} ({} bytes)",
                $c_name,
                stringify!($field),
                offset,
                size,
                $offset,
                $size
            );
            *$failures += 1;
        }
    }};
}

include!(env!("VQ_LAYOUT_CHECKS"));

fn main() {
    let mut failures = 0;
    let fields = check_fields(&mut failures);

    if failures != 0 {
        eprintln!(
            "layout_check: {} of {} fields differ between Rust and C",
            failures, fields
        );
        std::process::exit(1);
    }
    println!(
        "layout_check: {} types, {} fields and {} constants agree with C",
        TYPES_CHECKED, fields, CONSTANTS_CHECKED
    );
}
