# Sourced by the other scripts: puts the project's tools first on PATH.
# npm's wasm-opt must win over any system binaryen (Debian's wasm-opt 108
# produces wasm that fails to hydrate).
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$repo_root/node_modules/.bin:$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
# The browser's wasm holds the source path of every panic site. Dependencies'
# sources get a fixed prefix instead of this machine's CARGO_HOME, so the
# wasm has the same bytes wherever it is built (the end2end suite holds its
# first load to a byte budget).
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$cargo_home/registry/src=/deps --remap-path-prefix=$cargo_home/git/checkouts=/deps-git"
