#!/usr/bin/env bash
# Creates (or updates) the project-local Python environment the tests use:
# .venv with the pinned packages of requirements-test.txt. Idempotent: a
# venv whose packages match is left alone. Prints nothing but progress.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[python]\033[0m %s\n' "$*"; }
if ! command -v python3 >/dev/null; then
  say "installing Debian python3 and python3-venv"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-upgrade python3 python3-venv >/dev/null
fi
stamp=.venv/.requirements
if [ -x .venv/bin/python ] && cmp -s requirements-test.txt "$stamp"; then
  exit 0
fi
if ! [ -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv || {
    echo "python3 -m venv failed; on Debian install python3-venv" >&2
    exit 1
  }
fi
say "installing requirements-test.txt into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
cp requirements-test.txt "$stamp"
