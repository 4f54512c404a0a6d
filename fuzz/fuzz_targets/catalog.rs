#![no_main]
//! `catalog`: see `gridline_fuzz_targets::catalog::catalog`.

use gridline_fuzz_targets::{catalog, guarded, install_quiet_panic_hook};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: install_quiet_panic_hook(),
    |data: &[u8]| guarded(catalog::catalog, data)
);
