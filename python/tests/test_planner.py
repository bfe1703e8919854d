"""planner.py: deterministic, never repeats, respects running trials and vetoes, refuses bad rows by name."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import planner
import pytest
from conftest import PYTHON_DIR

AXES = [
    {"key": "LEARNING_RATE", "type": "float", "low": 1e-6, "high": 1e-4, "log": True},
    {"key": "LORA_RANK", "type": "int", "low": 8, "high": 64, "log": False},
    {"key": "DROPOUT", "type": "float", "low": 0.0, "high": 0.15, "log": False},
]


def point(rnd: random.Random) -> dict:
    return {
        "LEARNING_RATE": planner.quantize(AXES[0], math.exp(rnd.uniform(math.log(1e-6), math.log(1e-4)))),
        "LORA_RANK": rnd.randint(8, 64),
        "DROPOUT": planner.quantize(AXES[2], rnd.uniform(0, 0.15)),
    }


def score(p: dict) -> float:
    """A smooth bowl with its optimum at rank 48, lr 3e-5, dropout 0.05."""
    return 0.9 - 0.1 * ((p["LORA_RANK"] - 48) / 56) ** 2 - 0.1 * (math.log(p["LEARNING_RATE"] / 3e-5) / 4.6) ** 2 - 0.1 * ((p["DROPOUT"] - 0.05) / 0.15) ** 2


def history(n: int, seed: int = 0) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        p = point(rnd)
        out.append({"label": f"results.tsv row {i + 1} (exp-{i})", "state": "complete", "value": score(p), "params": p, "constraints": {"jailbreak": -0.1, "regression": -0.05}})
    return out


def ask(trials: list[dict], **extra) -> dict:
    request = {"command": "propose", "sampler": "tpe", "seed": 0, "candidates": 1, "axes": AXES, "trials": trials, "tried": []} | extra
    answer, code = planner.handle(json.dumps(request))
    assert code == 0, answer
    return answer


def key(p: dict) -> str:
    return json.dumps([p[a["key"]] for a in AXES])


@pytest.mark.parametrize("sampler", ["tpe", "cmaes", "random"])
def test_deterministic_for_a_seed_and_history(sampler: str) -> None:
    trials = history(12)
    a = ask(trials, sampler=sampler, seed=4, candidates=3)
    b = ask(trials, sampler=sampler, seed=4, candidates=3)
    assert a == b
    c = ask(trials, sampler=sampler, seed=5, candidates=3)
    assert a["candidates"] != c["candidates"]


def test_candidates_are_in_range_quantized_and_never_tried() -> None:
    trials = history(10)
    tried = [point(random.Random(99)) for _ in range(3)]
    answer = ask(trials, candidates=8, tried=tried)
    seen = {key(t["params"]) for t in trials} | {key(p) for p in tried}
    keys = [key(c["params"]) for c in answer["candidates"]]
    assert len(keys) == 8 and len(set(keys)) == 8
    assert not seen & set(keys)
    for c in answer["candidates"]:
        p = c["params"]
        assert 1e-6 <= p["LEARNING_RATE"] <= 1e-4 and float(f"{p['LEARNING_RATE']:.1e}") == p["LEARNING_RATE"]
        assert isinstance(p["LORA_RANK"], int) and 8 <= p["LORA_RANK"] <= 64
        assert 0 <= p["DROPOUT"] <= 0.15 and round(p["DROPOUT"], 3) == p["DROPOUT"]


def test_a_tiny_space_is_exhausted_without_repeating() -> None:
    axes = [{"key": "GRAD_ACCUM", "type": "int", "low": 2, "high": 4, "log": False}]
    trials = [{"label": f"row {v}", "state": "complete", "value": 0.5, "params": {"GRAD_ACCUM": v}, "constraints": None} for v in (2, 3)]
    answer, _ = planner.handle(json.dumps({"command": "propose", "axes": axes, "trials": trials, "candidates": 3}))
    assert [c["params"] for c in answer["candidates"]] == [{"GRAD_ACCUM": 4}]
    trials.append({"label": "row 4", "state": "fail", "value": None, "params": {"GRAD_ACCUM": 4}, "constraints": None})
    answer, _ = planner.handle(json.dumps({"command": "propose", "axes": axes, "trials": trials}))
    assert answer["candidates"] == [] and answer["exhausted"] is True


def test_running_trials_are_not_proposed_again_and_move_the_proposal() -> None:
    trials = history(12)
    free = ask(trials)["candidates"][0]["params"]
    running = [{"label": "in-flight experiment 1", "state": "running", "value": None, "params": free, "constraints": None}]
    busy = ask(trials + running, candidates=4)
    assert all(key(c["params"]) != key(free) for c in busy["candidates"])


def test_vetoed_region_is_avoided() -> None:
    """High learning rates score well but break jailbreak: TPE must learn to stay below them."""
    rnd = random.Random(3)
    trials = []
    for i in range(30):
        p = point(rnd)
        lr_high = p["LEARNING_RATE"] > 2e-5
        trials.append({
            "label": f"row {i}",
            "state": "complete",
            "value": 0.95 if lr_high else score(p),
            "params": p,
            "constraints": {"jailbreak": 0.2 if lr_high else -0.1, "regression": -0.05},
        })
    with_constraints = ask(trials, candidates=10)["candidates"]
    high = sum(1 for c in with_constraints if c["params"]["LEARNING_RATE"] > 2e-5)
    for t in trials:
        t["constraints"] = None
    without = ask(trials, candidates=10)["candidates"]
    high_without = sum(1 for c in without if c["params"]["LEARNING_RATE"] > 2e-5)
    assert high <= 3 < high_without


def test_failed_trials_are_told_as_failures() -> None:
    trials = history(6) + [{"label": "results.tsv row 7 (exp-crash)", "state": "fail", "value": None, "params": point(random.Random(7)), "constraints": None}]
    answer = ask(trials)
    assert answer["decided"] == 7


@pytest.mark.parametrize(
    ("trial", "message"),
    [
        ({"params": {"LEARNING_RATE": 1e-3, "LORA_RANK": 8, "DROPOUT": 0.0}, "state": "complete", "value": 0.5}, "results.tsv row 5 (exp-bad): LEARNING_RATE=0.001 is outside"),
        ({"params": {"LORA_RANK": 8, "DROPOUT": 0.0}, "state": "complete", "value": 0.5}, "results.tsv row 5 (exp-bad): params lack LEARNING_RATE"),
        ({"params": {"LEARNING_RATE": 1e-5, "LORA_RANK": 8, "DROPOUT": 0.0}, "state": "complete", "value": None}, "results.tsv row 5 (exp-bad): a complete trial needs a finite value"),
        ({"params": {"LEARNING_RATE": 1e-5, "LORA_RANK": 8, "DROPOUT": 0.0}, "state": "done", "value": 0.5}, "results.tsv row 5 (exp-bad): state must be"),
    ],
)
def test_bad_rows_are_refused_with_their_row(trial: dict, message: str) -> None:
    answer, code = planner.handle(json.dumps({"command": "propose", "axes": AXES, "trials": [{"label": "results.tsv row 5 (exp-bad)", **trial}]}))
    assert code == 2 and answer["event"] == "error"
    assert answer["message"].startswith(message), answer["message"]


def test_importance_needs_enough_trials() -> None:
    few, _ = planner.handle(json.dumps({"command": "importance", "axes": AXES, "trials": history(3)}))
    assert few["importances"] is None and few["complete"] == 3
    many, _ = planner.handle(json.dumps({"command": "importance", "axes": AXES, "trials": history(30)}))
    assert set(many["importances"]) == {"LEARNING_RATE", "LORA_RANK", "DROPOUT"}
    assert abs(sum(many["importances"].values()) - 1) < 1e-3


def test_serve_answers_one_line_per_request_and_survives_errors() -> None:
    requests = [
        {"command": "propose", "axes": AXES, "trials": history(4)},
        {"command": "nonsense"},
        {"command": "importance", "axes": AXES, "trials": history(8)},
    ]
    proc = subprocess.run(
        [sys.executable, str(PYTHON_DIR / "planner.py"), "--serve"],
        input="".join(json.dumps(r) + "\n" for r in requests), capture_output=True, text=True, timeout=120, check=True,
    )
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [a["event"] for a in answers] == ["result", "error", "result"]
    assert "command must be propose or importance" in answers[1]["message"]


def test_quantize_matches_the_typescript_rounding() -> None:
    assert planner.quantize(AXES[0], 1.2345e-5) == 1.2e-5
    assert planner.quantize(AXES[1], 31.6) == 32
    assert planner.quantize(AXES[2], 0.04449) == 0.044
    assert planner.quantize({"key": "W", "type": "float", "low": 0.5, "high": 2.0}, 1.234) == 1.23


def test_a_long_night_with_one_seed_does_not_run_out_of_asks() -> None:
    """Every proposal of a night uses the same configured seed; the history length picks the stream (with one
    stream, call n would first replay n tried points, and past 64 fall back to random)."""
    trials = []
    for i in range(70):
        answer = ask(trials, sampler="random")
        assert answer["candidates"], f"no candidate after {i} trials"
        p = answer["candidates"][0]["params"]
        assert "random fallback" not in answer["candidates"][0]["why"]
        trials.append({"label": f"row {i}", "state": "complete", "value": score(p), "params": p, "constraints": None})
