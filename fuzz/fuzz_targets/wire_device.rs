#![no_main]
//! `wire_device`: see `gridline_fuzz_targets::wire::device`.

use gridline_fuzz_targets::{guarded, install_quiet_panic_hook, wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: install_quiet_panic_hook(),
    |data: &[u8]| guarded(wire::device, data)
);
