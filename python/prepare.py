"""Builds the training set for one experiment: train.jsonl / valid.jsonl in mlx-lm's chat format.

Each row is `{"messages": [system = the agent's IDENTITY.md, ...], "tools": <the agent's tools.json>}`.
DATA_MIX_RATIO and PER_AGENT_WEIGHTS are read from train.py's AGENT MODIFIABLE section (the one source
of truth). The validation split is drawn from the seed alone, before any weighting, so val loss stays
comparable between experiments that change the mix.

Mix arithmetic: C = number of council training rows; agent a gets C * N_a * w_a / sum_b(N_b * w_b) rows
(largest-remainder rounding, cycling through its rows when it needs more than it has); the general pool
gets round(C * r / (1 - r)) rows, so general / total = r within rounding. General rows are attached to
the agents in turn (identity and tools), since every eval prompt also carries an identity and tools.

Output goes to `<out>/<dataset_sha256>/` (content addressed; an existing identical set is reused), written
to a temporary directory first and renamed, so a failure never leaves a partial set behind.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import hparams
from council import Council, CouncilError, load_council

HERE = Path(__file__).resolve().parent
DEFAULT_COUNCIL = HERE.parent / "council"
DEFAULT_TRAIN_PY = HERE / "train.py"
VALID_FRACTION = 0.1
FORMAT_VERSION = 1


def split_valid(rows: list[Any], seed: int, label: str) -> tuple[list[Any], list[Any]]:
    """A seeded hold-out of ~VALID_FRACTION (at least one row, and at least one row left to train on)."""
    order = list(range(len(rows)))
    random.Random(f"{seed}/valid/{label}").shuffle(order)
    n_valid = min(max(1, round(VALID_FRACTION * len(rows))), len(rows) - 1)
    held = set(order[:n_valid])
    train = [r for i, r in enumerate(rows) if i not in held]
    valid = [r for i, r in enumerate(rows) if i in held]
    return train, valid


def largest_remainder(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Integer counts proportional to `shares` that sum exactly to `total` (ties broken by key order)."""
    norm = sum(shares.values())
    exact = {k: total * v / norm for k, v in shares.items()}
    counts = {k: int(x) for k, x in exact.items()}
    leftover = total - sum(counts.values())
    by_remainder = sorted(shares, key=lambda k: (-(exact[k] - counts[k]), list(shares).index(k)))
    for k in by_remainder[:leftover]:
        counts[k] += 1
    return counts


def draw(rows: list[Any], count: int, rng: random.Random) -> list[Any]:
    """`count` rows: whole shuffled passes over `rows`, then a shuffled partial pass."""
    out: list[Any] = []
    while len(out) < count:
        batch = list(rows)
        rng.shuffle(batch)
        out.extend(batch[: count - len(out)])
    return out


def chat_row(agent, row: dict[str, Any]) -> dict[str, Any]:
    messages = [{"role": "system", "content": agent.identity}] + copy.deepcopy(row["messages"])
    return {"messages": messages, "tools": agent.tools}


def build(council: Council, mix_ratio: float, weights: dict[str, float], seed: int) -> dict[str, Any]:
    """The rows of both splits and their counts; pure apart from the seeded RNGs."""
    agent_train: dict[str, list[Any]] = {}
    valid: list[tuple[str, str, dict[str, Any]]] = []
    for agent in council.agents:
        train_rows, valid_rows = split_valid(agent.rows, seed, agent.id)
        agent_train[agent.id] = train_rows
        valid += [("agent", agent.id, chat_row(agent, r)) for r in valid_rows]
    pool_train, pool_valid = split_valid(council.pool, seed, "general")

    council_total = sum(len(rows) for rows in agent_train.values())
    shares = {a: len(agent_train[a]) * weights[a] for a in council.agent_ids}
    agent_counts = largest_remainder(council_total, shares)
    general_count = round(council_total * mix_ratio / (1.0 - mix_ratio))

    by_id = {a.id: a for a in council.agents}
    train: list[tuple[str, str, dict[str, Any]]] = []
    for agent_id in council.agent_ids:
        rng = random.Random(f"{seed}/draw/{agent_id}")
        train += [("agent", agent_id, chat_row(by_id[agent_id], r)) for r in draw(agent_train[agent_id], agent_counts[agent_id], rng)]

    hosts = list(council.agent_ids)
    random.Random(f"{seed}/hosts").shuffle(hosts)
    general_rows = draw(pool_train, general_count, random.Random(f"{seed}/draw/general"))
    train += [("general", hosts[i % len(hosts)], chat_row(by_id[hosts[i % len(hosts)]], r)) for i, r in enumerate(general_rows)]
    valid += [("general", hosts[i % len(hosts)], chat_row(by_id[hosts[i % len(hosts)]], r)) for i, r in enumerate(pool_valid)]

    random.Random(f"{seed}/order").shuffle(train)
    random.Random(f"{seed}/order-valid").shuffle(valid)
    return {"train": train, "valid": valid}


def counts_of(rows: list[tuple[str, str, dict[str, Any]]], agent_ids: list[str]) -> dict[str, Any]:
    agents = {a: sum(1 for src, host, _ in rows if src == "agent" and host == a) for a in agent_ids}
    general = sum(1 for src, _, _ in rows if src == "general")
    return {"total": len(rows), "general": general, "agents": agents}


def jsonl_bytes(rows: list[tuple[str, str, dict[str, Any]]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for _, _, r in rows).encode("utf-8")


def council_sha256(council: Council) -> str:
    h = hashlib.sha256()
    for path in council.files():
        h.update(str(path.relative_to(council.root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def prepare(
    council_dir: Path, train_py: Path, out_root: Path, seed: int, search_space: str = hparams.DEFAULT_SEARCH_SPACE
) -> dict[str, Any]:
    council = load_council(council_dir)
    section = hparams.read_file(train_py, council.agent_ids, search_space)
    mix_ratio = section["DATA_MIX_RATIO"]
    weights = section["PER_AGENT_WEIGHTS"]
    splits = build(council, mix_ratio, weights, seed)

    files = {"train.jsonl": jsonl_bytes(splits["train"]), "valid.jsonl": jsonl_bytes(splits["valid"])}
    file_sha = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    # Like a `sha256sum` listing of the two files: the set's identity is exactly its data.
    listing = "".join(f"{file_sha[name]}  {name}\n" for name in sorted(files))
    dataset_sha = hashlib.sha256(listing.encode()).hexdigest()
    counts = {
        "train": counts_of(splits["train"], council.agent_ids),
        "valid": counts_of(splits["valid"], council.agent_ids),
    }
    manifest = {
        "format": FORMAT_VERSION,
        "dataset_sha256": dataset_sha,
        "files": file_sha,
        "seed": seed,
        "council": {"name": council.name, "agents": council.agent_ids, "content_sha256": council_sha256(council)},
        "parameters": {"DATA_MIX_RATIO": mix_ratio, "PER_AGENT_WEIGHTS": weights},
        "valid_fraction": VALID_FRACTION,
        "counts": counts,
    }

    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / dataset_sha
    reused = (final / "manifest.json").is_file()
    if not reused:
        tmp = Path(tempfile.mkdtemp(prefix=".prepare-", dir=out_root))
        try:
            tmp.chmod(0o755)  # mkdtemp's 0700 would otherwise stick to the renamed set
            for name, data in files.items():
                _write_synced(tmp / name, data)
            _write_synced(tmp / "manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
            try:
                os.rename(tmp, final)
            except OSError:
                # Another process finished the same content-addressed set first; theirs is identical.
                if not (final / "manifest.json").is_file():
                    raise
                reused = True
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return {"event": "result", "dataset_dir": str(final), "dataset_sha256": dataset_sha, "counts": counts, "reused": reused,
            "parameters": manifest["parameters"], "seed": seed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build train.jsonl/valid.jsonl for one experiment from a council.")
    parser.add_argument("--council", type=Path, default=DEFAULT_COUNCIL, help="council directory (holding council.yaml)")
    parser.add_argument("--train-py", type=Path, default=DEFAULT_TRAIN_PY, help="train.py whose section gives the mix")
    parser.add_argument("--out", type=Path, required=True, help="datasets root; the set goes to <out>/<sha256>/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--search-space", default=hparams.DEFAULT_SEARCH_SPACE, help="the table the section is checked against")
    args = parser.parse_args(argv)
    try:
        result = prepare(args.council, args.train_py, args.out, args.seed, args.search_space)
    except hparams.SectionError as err:
        return _fail(f"invalid AGENT MODIFIABLE section in {args.train_py}: {err}", hparams.EXIT_BAD_SECTION)
    except CouncilError as err:
        return _fail(str(err), 2)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    print(json.dumps({"event": "error", "message": message}, ensure_ascii=False), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
