#![no_main]
//! `open311`: see `gridline_fuzz_targets::open311::requests`.

use gridline_fuzz_targets::{guarded, install_quiet_panic_hook, open311};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: install_quiet_panic_hook(),
    |data: &[u8]| guarded(open311::requests, data)
);
