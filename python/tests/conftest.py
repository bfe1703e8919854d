"""Shared fixtures: the python/ modules on sys.path, one tiny model per session, small councils and sections."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parent.parent
REPO = PYTHON_DIR.parent
COUNCIL = REPO / "council"
# The same cache the CLI uses by default (<state>/models), so a model built once serves both.
MODELS_ROOT = Path(os.environ.get("AUTORESEARCH_TEST_MODELS", REPO / ".autoresearch" / "models"))
OPENBLAS = ["/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib/aarch64-linux-gnu/libopenblas.so.0"]

sys.path.insert(0, str(PYTHON_DIR))


def mlx_env() -> dict[str, str]:
    """As src/train/mlx-env.ts: OpenBLAS preloaded where present (the bundled reference BLAS is ~8x slower)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    lib = next((p for p in OPENBLAS if os.path.exists(p)), None)
    if sys.platform.startswith("linux") and lib and lib not in env.get("LD_PRELOAD", ""):
        env["LD_PRELOAD"] = f"{lib}:{env['LD_PRELOAD']}" if env.get("LD_PRELOAD") else lib
    return env


def run_script(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PYTHON_DIR / script), *args],
        capture_output=True, text=True, env=mlx_env(), timeout=timeout, check=False,
    )


def result_line(proc: subprocess.CompletedProcess) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"no stdout; stderr:\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """The tiny model for the repo's council: built once (about a minute or two), then taken from the cache."""
    proc = run_script("tiny_model.py", "--council", str(COUNCIL), "--out-root", str(MODELS_ROOT), timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Path(result_line(proc)["model_dir"])


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """The baseline section's training set for the repo's council."""
    out = tmp_path_factory.mktemp("datasets")
    proc = run_script("prepare.py", "--council", str(COUNCIL), "--train-py", str(PYTHON_DIR / "train.py"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return Path(result_line(proc)["dataset_dir"])


def section_source(overrides: dict[str, str]) -> str:
    """python/train.py with some section lines replaced: {"ITERS": "1200"} sets `ITERS = 1200`."""
    source = (PYTHON_DIR / "train.py").read_text(encoding="utf-8")
    for name, literal in overrides.items():
        source, n = re.subn(rf"^{name} = .*$", lambda _m: f"{name} = {literal}", source, count=1, flags=re.M)
        assert n == 1, name
    return source


def write_train_py(directory: Path, overrides: dict[str, str] | None = None, source: str | None = None) -> Path:
    """A runnable copy of train.py (with hparams.py and the table beside it) holding a modified section."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(PYTHON_DIR / "hparams.py", directory / "hparams.py")
    shutil.copytree(PYTHON_DIR / "search-spaces", directory / "search-spaces", dirs_exist_ok=True)
    path = directory / "train.py"
    path.write_text(source if source is not None else section_source(overrides or {}), encoding="utf-8")
    return path


def make_council(root: Path, agents: dict[str, int], pool: int) -> Path:
    """A small valid council: `agents` maps id to its number of training rows; each row names its agent and index."""
    (root / "general").mkdir(parents=True, exist_ok=True)
    lines = ["name: Test council", "agents:"]
    for agent_id, n in agents.items():
        lines += [f"  - id: {agent_id}", f"    name: {agent_id.title()}", "    role: tester", f'    names: ["{agent_id.title()}"]']
        base = root / "agents" / agent_id
        base.mkdir(parents=True, exist_ok=True)
        (base / "IDENTITY.md").write_text(f"You are {agent_id.title()}, a test agent.\n", encoding="utf-8")
        tool = {"type": "function", "function": {"name": f"{agent_id}_tool", "description": "A tool.",
                                                 "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}
        (base / "tools.json").write_text(json.dumps([tool]), encoding="utf-8")
        rows = []
        for i in range(n):
            if i % 3 == 0:
                rows.append({"messages": [{"role": "user", "content": f"{agent_id} call {i}"},
                                          {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": f"{agent_id}_tool", "arguments": {"q": str(i)}}}]}]})
            else:
                rows.append({"messages": [{"role": "user", "content": f"{agent_id} question {i}"}, {"role": "assistant", "content": f"{agent_id} answer {i}"}]})
        (base / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (root / "council.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pool_rows = [{"messages": [{"role": "user", "content": f"general question {i}"}, {"role": "assistant", "content": f"general answer {i}"}]} for i in range(pool)]
    (root / "general" / "pool.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pool_rows), encoding="utf-8")
    return root
