"""train.py on the tiny model: budgets, adapters that load and change output, the JSON contract, bad sections."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import COUNCIL, PYTHON_DIR, mlx_env, section_source, write_train_py

import subprocess
import sys

# High learning rate and small accumulation so that a few seconds of training visibly move a tiny model.
FAST = {"LEARNING_RATE": "0.0001", "GRAD_ACCUM": "2", "LORA_RANK": "64", "LORA_ALPHA": "128", "DROPOUT": "0.0"}
PROMPT = [{"role": "user", "content": "Who are you, and what do you do for the council?"}]


def train(train_py: Path, model: Path, data: Path, out: Path, budget: float, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    proc = subprocess.run(
        [sys.executable, str(train_py), "--model", str(model), "--data", str(data), "--out", str(out),
         "--budget-seconds", str(budget), "--seed", "0", "--batch-size", "1", *extra],
        capture_output=True, text=True, env=mlx_env(), timeout=budget + 300, check=False,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    return proc, events


def greedy(model_dir: Path, adapter: Path | None, identity: str, tools: list) -> str:
    from mlx_lm import generate, load
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer = load(str(model_dir), adapter_path=str(adapter) if adapter else None)
    prompt = tokenizer.apply_chat_template([{"role": "system", "content": identity}, *PROMPT], tools=tools, add_generation_prompt=True)
    return generate(model, tokenizer, prompt, max_tokens=24, sampler=make_sampler(0.0))


@pytest.fixture(scope="module")
def budget_run(tmp_path_factory, tiny_model, dataset):
    """One long-ITERS run cut by a short budget, shared by the tests that inspect it."""
    root = tmp_path_factory.mktemp("budget")
    train_py = write_train_py(root / "python", FAST | {"ITERS": "1200"})
    proc, events = train(train_py, tiny_model, dataset, root / "adapter", 30, "--val-batches", "4")
    return proc, events, root / "adapter"


def test_stdout_is_json_lines_ending_in_exactly_one_result(budget_run):
    proc, events, _ = budget_run
    assert [e["event"] for e in events].count("result") == 1 and events[-1]["event"] == "result", proc.stderr[-2000:]
    assert {e["event"] for e in events} <= {"progress", "val", "result"}
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and set(progress[0]) == {"event", "iteration", "train_loss", "learning_rate", "tokens_per_second",
                                             "peak_memory_gb", "elapsed_seconds", "eta_seconds"}
    assert events[0] == {"event": "val", "iteration": 0, "val_loss": events[-1]["initial_val_loss"]}


def test_the_budget_stops_a_long_run_and_the_adapter_is_saved(budget_run):
    proc, events, out = budget_run
    result = events[-1]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert result["status"] == "budget" and 0 < result["iterations"] < 1200
    assert result["adapter_path"] == str(out.resolve())
    assert result["adapter_sha256"] == hashlib.sha256((out / "adapters.safetensors").read_bytes()).hexdigest()
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["num_layers"] == 4 and config["lora_parameters"] == {"rank": 64, "scale": 2.0, "dropout": 0.0}
    assert "exceeds the model's 4 blocks" in proc.stderr
    assert not list(out.glob("*partial*"))


def test_the_adapter_loads_and_changes_greedy_output(budget_run, tiny_model):
    from council import load_council

    _, events, out = budget_run
    assert events[-1]["iterations"] >= 4  # at least two optimizer updates (GRAD_ACCUM=2)
    agent = load_council(COUNCIL).agents[0]
    base = greedy(tiny_model, None, agent.identity, agent.tools)
    tuned = greedy(tiny_model, out, agent.identity, agent.tools)
    assert tuned != base


def test_a_run_that_reaches_iters_is_ok_and_lowers_val_loss(tmp_path, tiny_model, dataset):
    train_py = write_train_py(tmp_path / "python", FAST | {"ITERS": "50"})
    proc, events = train(train_py, tiny_model, dataset, tmp_path / "adapter", 600, "--val-batches", "8")
    result = events[-1]
    assert proc.returncode == 0 and result["status"] == "ok", proc.stderr[-2000:]
    assert result["iterations"] == 50
    assert result["val_loss"] < result["initial_val_loss"]


@pytest.mark.parametrize("line,name", [
    ("ITERS = 5000", "ITERS"),
    ("LORA_RANK = 16.0", "LORA_RANK"),
    ("DROPOUT = '0.1'", "DROPOUT"),
    ("LEARNING_RATE = 10 ** -5", "LEARNING_RATE"),
    ("PER_AGENT_WEIGHTS = {'yoda': 3.0}", "PER_AGENT_WEIGHTS"),
    ("GRAD_ACCUM = __import__('pathlib').Path('PWNED').touch()", "GRAD_ACCUM"),
])
def test_a_hand_broken_section_exits_2_naming_the_parameter(tmp_path, line, name):
    source = section_source({})
    source = "\n".join(line if row.startswith(f"{name} = ") else row for row in source.split("\n"))
    train_py = write_train_py(tmp_path / "python", source=source)
    proc = subprocess.run([sys.executable, str(train_py), "--model", "x", "--data", "x", "--out", "x", "--budget-seconds", "5", "--seed", "0"],
                          capture_output=True, text=True, cwd=tmp_path, env=mlx_env(), timeout=120, check=False)
    assert proc.returncode == 2
    assert f"{name}" in proc.stderr and "invalid AGENT MODIFIABLE section" in proc.stderr
    assert not (tmp_path / "PWNED").exists()


def test_a_missing_name_and_a_missing_marker_exit_2(tmp_path):
    for i, source in enumerate([
        section_source({}).replace("DROPOUT = 0.05\n", ""),
        section_source({}).replace("# ==== AGENT MODIFIABLE: END ====", ""),
    ]):
        train_py = write_train_py(tmp_path / f"python{i}", source=source)
        proc = subprocess.run([sys.executable, str(train_py), "--help"], capture_output=True, text=True, env=mlx_env(), timeout=120, check=False)
        assert proc.returncode == 2
        assert ("DROPOUT: missing" if i == 0 else "END ====' is missing") in proc.stderr


def test_bad_arguments_exit_2():
    proc = subprocess.run([sys.executable, str(PYTHON_DIR / "train.py"), "--model", "x"], capture_output=True, text=True, env=mlx_env(), timeout=120, check=False)
    assert proc.returncode == 2 and "--data" in proc.stderr
