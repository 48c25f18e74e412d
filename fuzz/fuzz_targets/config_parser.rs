#![no_main]
//! Feeds arbitrary bytes to the experiment config parser and grid expansion;
//! the invariants live in `trainyard_core::config::fuzzing::fuzz_one`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    trainyard_core::config::fuzzing::fuzz_one(data);
});
