"""Reads and validates the AGENT MODIFIABLE section of train.py.

The section is parsed with `ast` and never executed, so a hostile or broken
section cannot run code before it is rejected. The names, types and ranges come
from a search space, search-spaces/<name>.json (one per base model family, chosen
per mode in the config), the same files the TypeScript side reads.

Usage as a script: `python hparams.py FILE [--agents a,b,c] [--search-space NAME]`
prints the values as JSON, or exits 2 with a message naming the offending parameter,
the search space's file and what it allows.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

SEARCH_SPACES_DIR = Path(__file__).with_name("search-spaces")
DEFAULT_SEARCH_SPACE = "qwen"
SPACE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
BEGIN_MARKER = "# ==== AGENT MODIFIABLE: BEGIN ===="
END_MARKER = "# ==== AGENT MODIFIABLE: END ===="
AGENT_ID = re.compile(r"^[a-z][a-z0-9_]*$")
EXIT_BAD_SECTION = 2


class SectionError(ValueError):
    """The section is missing, malformed, or holds a value the table does not allow."""


def search_space_names() -> list[str]:
    return sorted(p.stem for p in SEARCH_SPACES_DIR.glob("*.json") if SPACE_NAME.match(p.stem))


def search_space_path(name: str) -> Path:
    """python/search-spaces/<name>.json; an unknown name is a SectionError listing the allowed ones."""
    path = SEARCH_SPACES_DIR / f"{name}.json"
    if not SPACE_NAME.match(name) or not path.is_file():
        allowed = ", ".join(search_space_names()) or "(none found)"
        raise SectionError(f"unknown search space {name!r}; allowed: {allowed} (the files in {SEARCH_SPACES_DIR})")
    return path


def load_table(path: Path | None = None) -> dict[str, Any]:
    path = path or search_space_path(DEFAULT_SEARCH_SPACE)
    with open(path, encoding="utf-8") as fh:
        table = json.load(fh)
    table["file"] = str(path)
    return table


def search_space_from_argv(argv: list[str]) -> str:
    """The `--search-space NAME` of a script's command line (read before its own argparse runs), or the default."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--search-space", default=DEFAULT_SEARCH_SPACE)
    known, _ = parser.parse_known_args(argv)
    return known.search_space


def section_text(source: str) -> str:
    """The lines strictly between the two markers; each marker must occur exactly once, as a whole line.

    Lines are split on "\n" only, as Python's tokenizer does; str.splitlines() would also split on form
    feeds and U+2028 inside a string literal.
    """
    lines = source.split("\n")
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN_MARKER]
    ends = [i for i, line in enumerate(lines) if line.strip() == END_MARKER]
    for marker, found in ((BEGIN_MARKER, begins), (END_MARKER, ends)):
        if len(found) != 1:
            what = "missing" if not found else f"repeated {len(found)} times"
            raise SectionError(f"the marker line '{marker}' is {what}; it must appear exactly once")
    if ends[0] < begins[0]:
        raise SectionError("the END marker comes before the BEGIN marker")
    return "\n".join(lines[begins[0] + 1 : ends[0]])


def _literal_assignments(text: str) -> dict[str, Any]:
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        raise SectionError(f"the section is not valid Python (section line {err.lineno}: {err.msg})") from None
    values: dict[str, Any] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise SectionError(
                f"section line {node.lineno}: only `NAME = <literal>` assignments are allowed in the section"
            )
        name = node.targets[0].id
        if name in values:
            raise SectionError(f"{name}: assigned more than once in the section")
        try:
            values[name] = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise SectionError(f"{name}: the value must be a Python literal, not an expression") from None
    return values


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_range(name: str, value: float, lo: float, hi: float, source: str = "") -> None:
    if not math.isfinite(value) or value < lo or value > hi:
        where = f" by {source}" if source else ""
        raise SectionError(f"{name}: {value!r} is out of range; allowed{where}: {lo} to {hi}")


def validate(values: dict[str, Any], table: dict[str, Any], agent_ids: list[str] | None = None) -> dict[str, Any]:
    """Checks the exact set of names, each literal's type and range; returns the values with floats as float."""
    params = {p["name"]: p for p in table["parameters"]}
    hypothesis = table["hypothesis"]
    expected = set(params) | {hypothesis["name"]}
    missing = sorted(expected - set(values))
    if missing:
        raise SectionError(f"{missing[0]}: missing from the section (expected all of {', '.join(sorted(expected))})")
    unknown = sorted(set(values) - expected)
    if unknown:
        raise SectionError(f"{unknown[0]}: not a tunable parameter; allowed names are {', '.join(sorted(expected))}")

    out: dict[str, Any] = {}
    for name, spec in params.items():
        value = values[name]
        kind = spec["type"]
        if kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise SectionError(f"{name}: expected a whole number, got {value!r}")
            _check_range(name, value, spec["min"], spec["max"], table.get("file", ""))
            out[name] = value
        elif kind == "float":
            if not _is_number(value):
                raise SectionError(f"{name}: expected a number, got {value!r}")
            _check_range(name, float(value), spec["min"], spec["max"], table.get("file", ""))
            out[name] = float(value)
        elif kind == "agent_weights":
            out[name] = _validate_weights(name, value, spec, agent_ids, table.get("file", ""))
        else:
            raise SectionError(f"{name}: the table has an unknown type {kind!r}")

    text = values[hypothesis["name"]]
    if not isinstance(text, str):
        raise SectionError(f"{hypothesis['name']}: expected a string, got {type(text).__name__}")
    if len(text) > hypothesis["maxLength"]:
        raise SectionError(f"{hypothesis['name']}: {len(text)} characters; at most {hypothesis['maxLength']} allowed")
    out[hypothesis["name"]] = text
    return out


def _validate_weights(
    name: str, value: Any, spec: dict[str, Any], agent_ids: list[str] | None, source: str
) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise SectionError(f'{name}: expected a non-empty dict such as {{"yoda": 1.0}}, got {value!r}')
    weights: dict[str, float] = {}
    for agent, weight in value.items():
        if not isinstance(agent, str) or not AGENT_ID.match(agent):
            raise SectionError(f"{name}: key {agent!r} is not an agent id (lowercase [a-z][a-z0-9_]*)")
        if not _is_number(weight):
            raise SectionError(f"{name}[{agent!r}]: expected a number, got {weight!r}")
        _check_range(f"{name}[{agent!r}]", float(weight), spec["min"], spec["max"], source)
        weights[agent] = float(weight)
    if agent_ids is not None:
        missing = [a for a in agent_ids if a not in weights]
        extra = [a for a in weights if a not in agent_ids]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if extra:
                parts.append(f"not in the council: {', '.join(extra)}")
            raise SectionError(f"{name}: keys must be exactly the council's agents ({'; '.join(parts)})")
    return weights


def read_section(source: str, agent_ids: list[str] | None = None, table: dict[str, Any] | None = None) -> dict[str, Any]:
    return validate(_literal_assignments(section_text(source)), table or load_table(), agent_ids)


def read_file(path: str | Path, agent_ids: list[str] | None = None, search_space: str = DEFAULT_SEARCH_SPACE) -> dict[str, Any]:
    table = load_table(search_space_path(search_space))
    return read_section(Path(path).read_text(encoding="utf-8"), agent_ids, table)


def read_file_or_exit(
    path: str | Path, agent_ids: list[str] | None = None, search_space: str = DEFAULT_SEARCH_SPACE
) -> dict[str, Any]:
    """For scripts: a bad section ends the process with exit code 2 and a one-line reason on stderr."""
    try:
        return read_file(path, agent_ids, search_space)
    except SectionError as err:
        print(f"error: invalid AGENT MODIFIABLE section in {path} (search space {search_space}): {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SECTION) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate train.py's AGENT MODIFIABLE section.")
    parser.add_argument("file", help="train.py (or any file holding the section)")
    parser.add_argument("--agents", help="comma-separated council agent ids that PER_AGENT_WEIGHTS must match")
    parser.add_argument("--search-space", default=DEFAULT_SEARCH_SPACE, help="a table in search-spaces/ (default qwen)")
    args = parser.parse_args(argv)
    agents = args.agents.split(",") if args.agents else None
    values = read_file_or_exit(args.file, agents, args.search_space)
    print(json.dumps(values, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
