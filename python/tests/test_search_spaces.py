"""hparams.py's search spaces: one table per base model family, chosen by name, and errors that say what is allowed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import PYTHON_DIR, section_source, write_train_py

sys.path.insert(0, str(PYTHON_DIR))
import hparams  # noqa: E402


def test_every_shipped_table_lists_the_same_names_with_baselines_in_range():
    names = hparams.search_space_names()
    assert {"qwen", "tiny"} <= set(names)
    for name in names:
        table = hparams.load_table(hparams.search_space_path(name))
        for spec in table["parameters"]:
            assert spec["min"] <= spec["baseline"] <= spec["max"], (name, spec["name"])
        baseline = {p["name"]: p["baseline"] for p in table["parameters"]}
        baseline["PER_AGENT_WEIGHTS"] = {"yoda": baseline["PER_AGENT_WEIGHTS"]}
        baseline[table["hypothesis"]["name"]] = table["hypothesis"]["baseline"]
        hparams.validate(baseline, table)


def test_the_seed_section_fits_the_default_table_but_not_the_tiny_one(tmp_path):
    path = write_train_py(tmp_path)
    assert hparams.read_file(path)["LEARNING_RATE"] == 5e-6
    with pytest.raises(hparams.SectionError) as err:
        hparams.read_file(path, search_space="tiny")
    message = str(err.value)
    assert "search-spaces/tiny.json" in message and "NUM_LAYERS" in message and "1 to 4" in message


def test_an_unknown_search_space_names_the_allowed_ones():
    with pytest.raises(hparams.SectionError, match=r"unknown search space 'gpt'; allowed: .*qwen.*tiny"):
        hparams.search_space_path("gpt")
    with pytest.raises(hparams.SectionError, match="unknown search space"):
        hparams.search_space_path("../qwen")


def test_search_space_from_argv_reads_only_its_own_flag():
    assert hparams.search_space_from_argv(["--model", "m", "--search-space", "tiny", "--seed", "1"]) == "tiny"
    assert hparams.search_space_from_argv(["--model", "m"]) == hparams.DEFAULT_SEARCH_SPACE


def test_train_py_checks_its_section_against_the_search_space_on_its_command_line(tmp_path):
    tiny_section = {"NUM_LAYERS": "4", "LORA_RANK": "8", "LORA_ALPHA": "16", "LEARNING_RATE": "0.0003", "GRAD_ACCUM": "1"}
    path = write_train_py(tmp_path, source=section_source(tiny_section))
    common = [sys.executable, str(path), "--model", "x", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
              "--budget-seconds", "1", "--seed", "0"]
    seed_table = subprocess.run(common, capture_output=True, text=True, cwd=tmp_path)
    assert seed_table.returncode == 2
    assert "search space qwen" in seed_table.stderr and "NUM_LAYERS: 4 is out of range; allowed by" in seed_table.stderr
    assert "search-spaces/qwen.json: 16 to 32" in seed_table.stderr
    unknown = subprocess.run([*common, "--search-space", "nope"], capture_output=True, text=True, cwd=tmp_path)
    assert unknown.returncode == 2 and "allowed: " in unknown.stderr
