//! Core's integration tests, one binary: properties of the config language
//! over generated and fuzzed inputs.

mod fuzz_corpus;
mod grid_properties;
