//! Core's integration tests, one binary: properties of the config language
//! over generated and fuzzed inputs, and CVLab-Kit's configs.

mod cvlabkit_configs;
mod fuzz_corpus;
mod grid_properties;
