#![no_main]
//! `photo_process`: see `gridline_fuzz_targets::photo::process`.

use gridline_fuzz_targets::{guarded, install_quiet_panic_hook, photo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: install_quiet_panic_hook(),
    |data: &[u8]| guarded(photo::process, data)
);
