import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def scenarios_cli():
    """Runs the real `scenarios` binary: `LM_GYM_SCENARIOS_BIN`, or the one cargo builds in the
    workspace's target dir."""
    given = os.environ.get("LM_GYM_SCENARIOS_BIN")
    if given:
        return _runner(Path(given))
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("cargo is not installed: the CLI reference run needs it")
    # The binary `cargo test --workspace` builds (a no-op right after it, as in CI): building it
    # with `-p scenarios` alone would resolve features differently and recompile the workspace.
    subprocess.run([cargo, "test", "--quiet", "--workspace", "--no-run"], cwd=REPO, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    binary = target / "debug" / "scenarios"
    assert binary.is_file(), binary
    return _runner(binary)


def _runner(binary: Path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(binary), *args], cwd=REPO, check=True, capture_output=True, text=True)

    run.binary = binary
    return run
