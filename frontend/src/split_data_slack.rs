//! Room for the wasm splitter to move the shell's data into the chunks.
//!
//! `cargo leptos build --split` moves each page's code into its own chunks,
//! and its data (strings, tables, panic locations) too: each chunk gets the
//! read-only data only it uses, as an active segment written when the
//! chunk is instantiated. The splitter lays each module's data out again
//! inside the original `.rodata` segment, with alignment padding per module.
//! If that layout comes out longer than the original segment, it gives up
//! and leaves *all* of `.rodata` in the shell: with ~480 modules it came out
//! 895 bytes longer, and the shell carried every page's data (229 KB raw,
//! ~72 KB of its 323 KB of brotli).
//!
//! This block is part of `.rodata` but nothing refers to it, so the splitter
//! places it in no module: it only lengthens the original segment, leaving
//! the relocated layout room for its padding. A non-zero fill keeps it in
//! `.rodata` (an all-zero constant could go to `.bss`).

/// Bytes of slack; ~18× the padding measured on 2026-12-01.
const SLACK_BYTES: usize = 16 * 1024;

#[used]
static SPLIT_DATA_SLACK: [u8; SLACK_BYTES] = [0xA5; SLACK_BYTES];
