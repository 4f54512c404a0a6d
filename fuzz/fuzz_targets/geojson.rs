#![no_main]
//! `geojson`: see `gridline_fuzz_targets::geojson::grids`.

use gridline_fuzz_targets::{geojson, guarded, install_quiet_panic_hook};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: install_quiet_panic_hook(),
    |data: &[u8]| guarded(geojson::grids, data)
);
