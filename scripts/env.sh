# Sourced by the other scripts: puts the project's tools first on PATH.
# npm's wasm-opt must win over any system binaryen (Debian's wasm-opt 108
# produces wasm that fails to hydrate).
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$repo_root/node_modules/.bin:$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
