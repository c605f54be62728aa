import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def scenarios_binary() -> Path:
    """The real `scenarios` binary: `LM_GYM_SCENARIOS_BIN`, or the one cargo builds in the
    workspace's target dir."""
    given = os.environ.get("LM_GYM_SCENARIOS_BIN")
    if given:
        return Path(given)
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("cargo is not installed: the CLI reference run needs it")
    # The binary `cargo test --workspace` builds (a no-op right after it, as in CI): building it
    # with `-p scenarios` alone would resolve features differently and recompile the workspace.
    subprocess.run([cargo, "test", "--quiet", "--workspace", "--no-run"], cwd=REPO, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    binary = target / "debug" / "scenarios"
    assert binary.is_file(), binary
    return binary


@pytest.fixture(scope="session")
def scenarios_cli(scenarios_binary):
    """Runs the real `scenarios` binary with arguments; returns the completed process."""
    return _runner(scenarios_binary)


@pytest.fixture(scope="session")
def serve_llm(scenarios_binary):
    """`scenarios serve-llm` on a free loopback port, serving SmolLM2-135M-Instruct from the
    model cache: its base URL, `http://127.0.0.1:PORT`. Stopped at the end of the session."""
    process = subprocess.Popen(
        [str(scenarios_binary), "serve-llm", "--addr", "127.0.0.1:0"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on "), f"first line of serve-llm: {line!r}"
        yield "http://" + line.removeprefix("listening on ").strip()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _runner(binary: Path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(binary), *args], cwd=REPO, check=True, capture_output=True, text=True)

    return run
