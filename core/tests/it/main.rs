//! Core's integration tests, one binary: properties of the config language
//! over generated and fuzzed inputs, CVLab-Kit's configs, and parsing a
//! heartbeat into an old one's buffers.

mod cvlabkit_configs;
mod fuzz_corpus;
mod grid_properties;
mod heartbeat_reuse;
