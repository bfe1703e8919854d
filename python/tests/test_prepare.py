"""prepare.py: deterministic, mixes as the section says, rejects malformed rows by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_council, result_line, run_script, write_train_py

AGENTS = {"alpha": 30, "beta": 30, "gamma": 60}


def weights(**w: float) -> str:
    full = {a: 1.0 for a in AGENTS} | w
    return json.dumps(full)


def prepare(tmp_path: Path, council: Path, seed: int = 0, **overrides: str) -> tuple[dict, Path]:
    overrides.setdefault("PER_AGENT_WEIGHTS", weights())
    train_py = write_train_py(tmp_path / f"section-{abs(hash(tuple(sorted(overrides.items()))))}", overrides)
    proc = run_script("prepare.py", "--council", str(council), "--train-py", str(train_py), "--out", str(tmp_path / "ds"), "--seed", str(seed))
    assert proc.returncode == 0, proc.stderr
    result = result_line(proc)
    return result, Path(result["dataset_dir"])


@pytest.fixture
def council(tmp_path: Path) -> Path:
    return make_council(tmp_path / "council", AGENTS, pool=50)


def test_same_seed_same_bytes_and_hash_other_seed_differs(tmp_path, council):
    first, dir1 = prepare(tmp_path / "a", council, seed=7)
    second, dir2 = prepare(tmp_path / "b", council, seed=7)
    other, _ = prepare(tmp_path / "c", council, seed=8)
    assert first["dataset_sha256"] == second["dataset_sha256"] != other["dataset_sha256"]
    for name in ("train.jsonl", "valid.jsonl", "manifest.json"):
        assert (dir1 / name).read_bytes() == (dir2 / name).read_bytes()
    assert dir1.name == first["dataset_sha256"]
    again, _ = prepare(tmp_path / "a", council, seed=7)
    assert again["reused"] is True


@pytest.mark.parametrize("ratio", [0.1, 0.25, 0.5, 0.9])
def test_general_share_matches_the_mix_ratio_within_rounding(tmp_path, council, ratio):
    result, _ = prepare(tmp_path, council, DATA_MIX_RATIO=repr(ratio))
    train = result["counts"]["train"]
    assert abs(train["general"] - ratio * train["total"]) <= 1
    assert train["general"] + sum(train["agents"].values()) == train["total"]


def test_agent_weights_set_each_agent_share(tmp_path, council):
    result, _ = prepare(tmp_path, council, PER_AGENT_WEIGHTS=weights(alpha=2.0, beta=0.5))
    agents = result["counts"]["train"]["agents"]
    held_in = {"alpha": 27, "beta": 27, "gamma": 54}  # after the 10% validation hold-out
    mass = {"alpha": 27 * 2.0, "beta": 27 * 0.5, "gamma": 54 * 1.0}
    total = sum(held_in.values())
    for agent, m in mass.items():
        assert abs(agents[agent] - total * m / sum(mass.values())) <= 1
    assert agents["alpha"] > held_in["alpha"] > agents["beta"]


def test_validation_split_does_not_depend_on_the_mix(tmp_path, council):
    _, a = prepare(tmp_path / "a", council, DATA_MIX_RATIO="0.1")
    _, b = prepare(tmp_path / "b", council, DATA_MIX_RATIO="0.9", PER_AGENT_WEIGHTS=weights(gamma=2.0))
    assert (a / "valid.jsonl").read_bytes() == (b / "valid.jsonl").read_bytes()
    train = {line for line in (a / "train.jsonl").read_text().splitlines()}
    assert not train & set((a / "valid.jsonl").read_text().splitlines())


def test_rows_carry_identity_tools_and_object_arguments(tmp_path, council):
    _, out = prepare(tmp_path, council)
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["train"]["total"] == len(rows)
    for row in rows:
        system = row["messages"][0]
        assert system["role"] == "system" and system["content"].startswith("You are ")
        host = system["content"].split()[2].rstrip(",").lower()
        assert [t["function"]["name"] for t in row["tools"]] == [f"{host}_tool"]
        assert row["messages"][-1]["role"] == "assistant"
        for m in row["messages"]:
            for call in m.get("tool_calls", []):
                assert isinstance(call["function"]["arguments"], dict)


BAD_ROWS = [
    ("not json", "{not json", "not valid JSON"),
    ("no messages", json.dumps({"text": "hi"}), "non-empty 'messages'"),
    ("system role", json.dumps({"messages": [{"role": "system", "content": "x"}, {"role": "assistant", "content": "y"}]}), "messages[0] must be a user"),
    ("ends with user", json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}, {"role": "user", "content": "z"}]}), "last message must be an assistant"),
    ("unknown tool", json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "rm_rf", "arguments": {}}}]}]}), "'rm_rf' is not one of this agent's tools"),
    ("string arguments", json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "beta_tool", "arguments": "{\"q\": 1}"}}]}]}), "arguments must be a JSON object"),
    ("content not a string", json.dumps({"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "y"}]}), "content must be a string"),
]


@pytest.mark.parametrize("label,line,problem", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_a_malformed_row_fails_with_file_line_and_problem(tmp_path, council, label, line, problem):
    path = council / "agents" / "beta" / "train.jsonl"
    lines = path.read_text().splitlines()
    lines.insert(4, line)
    path.write_text("\n".join(lines) + "\n")
    train_py = write_train_py(tmp_path / "section", {"PER_AGENT_WEIGHTS": weights()})
    out = tmp_path / "ds"
    proc = run_script("prepare.py", "--council", str(council), "--train-py", str(train_py), "--out", str(out))
    assert proc.returncode == 2
    assert f"{path}:5:" in proc.stderr and problem in proc.stderr
    assert result_line(proc)["event"] == "error"
    assert not out.exists() or list(out.iterdir()) == []


def test_weights_must_name_exactly_the_council_agents(tmp_path, council):
    train_py = write_train_py(tmp_path / "section", {"PER_AGENT_WEIGHTS": json.dumps({"alpha": 1.0, "beta": 1.0})})
    proc = run_script("prepare.py", "--council", str(council), "--train-py", str(train_py), "--out", str(tmp_path / "ds"))
    assert proc.returncode == 2
    assert "PER_AGENT_WEIGHTS" in proc.stderr and "missing gamma" in proc.stderr


def test_the_repo_council_prepares_with_the_baseline_section(dataset):
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert set(manifest["counts"]["train"]["agents"]) == {"yoda", "jocasta", "windu", "quigon", "cilghal", "mundi"}
    assert manifest["parameters"]["DATA_MIX_RATIO"] == 0.25
