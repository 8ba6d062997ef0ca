from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def node_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node_modules directory holding the `ws` package (the seed's Node.js client library),
    installed from the npm registry into a temporary directory once per test session."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js/npm not found: the seed's Node.js example cannot run here")
    prefix = tmp_path_factory.mktemp("node-ws")
    try:
        result = subprocess.run(
            [npm, "install", "ws", "--no-audit", "--no-fund", "--prefix", str(prefix)],
            capture_output=True,
            text=True,
            timeout=240,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install ws timed out (no registry access?)")
    modules = prefix / "node_modules"
    if result.returncode != 0 or not (modules / "ws").is_dir():
        pytest.skip(f"npm install ws failed (no registry access?): {result.stderr.strip()[-500:]}")
    return modules
