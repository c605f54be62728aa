#!/usr/bin/env bash
# The Python package's tests: a virtual environment (python/.venv, git-ignored, reused when
# present), the pinned tools, the extension built with maturin into it, then pytest.
# The extension is built in the workspace's dev profile and target dir (CARGO_TARGET_DIR or
# target/), so after `cargo test --workspace` only the extension crate itself is compiled.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${LM_GYM_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
stamp="$venv/.requirements-dev.txt"
if ! cmp -s "$here/requirements-dev.txt" "$stamp"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-dev.txt"
    cp "$here/requirements-dev.txt" "$stamp"
fi

started=$(date +%s)
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --manifest-path "$here/Cargo.toml"
echo "built and installed lm_gym in $(( $(date +%s) - started )) s"

cd "$here"
exec "$venv/bin/python" -m pytest tests "$@"
