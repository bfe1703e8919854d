"""Builds the tiny local model: a small Qwen3 that mlx_lm.load and mlx_lm.server accept, made offline.

1. A byte-level BPE tokenizer trained with `tokenizers` on the pre-training text (tiny_tokenizer.py).
2. A ChatML chat template in Qwen3's tool format (tiny_tokenizer.py:
   `<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>`), with `"tool_parser_type": "json_tools"` in
   tokenizer_config.json so the server returns `tool_calls`. No `<think>` tokens, so no reasoning mode.
3. A short pre-training of all weights on the council corpus rendered through that template: a fixed
   number of steps, so the result is the same for a seed and the model speaks on topic before any LoRA.

The output directory is `<out-root>/tiny-<key>`, where the key hashes the builder's modules, the council's content,
the seed and the config, so a change to any of them builds a new model and an unchanged one is reused.
The build happens in a temporary directory that is renamed into place when complete.

Usage: python tiny_model.py --council DIR --out-root DIR [--seed N] [--print-path]
Prints one JSON line: {"event": "result", "model_dir", "cached", "seconds", ...}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import tiny_corpus
import tiny_tokenizer
from tiny_tokenizer import TOOLS_HEADING, VOCAB_SIZE
from council import Council, CouncilError, load_council

HERE = Path(__file__).resolve().parent
DEFAULT_COUNCIL = HERE.parent / "council"
FORMAT_VERSION = 2

MODEL_CONFIG = {
    "model_type": "qwen3",
    "hidden_size": 128,
    "num_hidden_layers": 4,
    "intermediate_size": 384,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "rms_norm_eps": 1e-6,
    "max_position_embeddings": 4096,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
}
# Half the exchanges are attacks. With a third, the base model met a third of the suite's attacks with word salad
# (jailbreak 0.82, overall 0.18); with half, it declines in its own name (0.96, overall 0.21), and adapters learn
# the council's rows faster on it (identity 0.94 instead of 0.56 after 600 steps at 2e-3; docs/tiny-model.md).
PRETRAIN = {"steps": 480, "conversations": 6000, "attack_share": 0.5, "council_share": 0.8, "user_weight": 0.1, "batch_size": 8,
            "learning_rate": 5e-3, "warmup_steps": 20, "min_lr_ratio": 0.1}

def cache_key(council: Council, seed: int) -> str:
    h = hashlib.sha256()
    for name in ("tiny_model.py", "tiny_tokenizer.py", "tiny_corpus.py", "council.py"):
        h.update((HERE / name).read_bytes())
    spec = {"format": FORMAT_VERSION, "seed": seed, "vocab": VOCAB_SIZE, "model": MODEL_CONFIG, "pretrain": PRETRAIN}
    h.update(json.dumps(spec, sort_keys=True).encode())
    # Pre-training never reads the agents' train.jsonl (see tiny_corpus.py), so rows added there reuse the model.
    for path in council.files(training_data=False):
        h.update(str(path.relative_to(council.root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def pretraining_conversations(council: Council, seed: int) -> list[tuple[list[dict], list[dict]]]:
    """The pre-training set (tiny_corpus.py): the general pool and attacks, under the council agents' own prompts
    and made-up personas' prompts; never the agents' training rows."""
    general = [row["messages"] for row in council.pool]
    speakers = [tiny_corpus.council_speaker(full_name(agent), agent.name, agent.identity, agent.tools)
                for agent in council.agents]
    return tiny_corpus.conversations(general, PRETRAIN["conversations"], seed, PRETRAIN["attack_share"],
                                     speakers, PRETRAIN["council_share"])


def full_name(agent) -> str:
    """The name an IDENTITY.md opens with ("You are Jocasta Nu, ..."), else the council's name for the agent."""
    match = re.match(r"You are ([^,.\n]+)", agent.identity)
    return match.group(1).strip() if match else agent.name


def corpus_texts(council: Council, seed: int) -> list[str]:
    """The raw text the tokenizer learns from: the pre-training set only, each distinct text once.

    Not the council's own text: a token that only the council used would reach fine-tuning with the random
    embedding it was initialised with, and LoRA leaves embeddings frozen, so the adapter could hardly ever say it.
    Council words are spelled with tokens that pre-training has taught.
    """
    texts = [TOOLS_HEADING]
    for messages, tools in pretraining_conversations(council, seed):
        texts += [m["content"] for m in messages] + [json.dumps(t) for t in tools]
    return list(dict.fromkeys(texts))


def weighted_sequences(council: Council, tokenizer, seed: int) -> list[tuple[list[int], list[float]]]:
    """Each pre-training conversation as token ids and a loss weight per predicted token.

    Assistant turns weigh 1 and user turns PRETRAIN["user_weight"]; the system prompt weighs nothing. It is
    most of every sequence, and learning to predict it would teach the personas rather than how to answer.
    The template renders growing prefixes of a conversation as prefixes of its text, so each turn's span is
    found in characters and mapped to the tokens that start inside it: one tokenisation per conversation.
    """
    out = []
    for messages, tools in pretraining_conversations(council, seed):
        text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)
        encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, starts = encoding["input_ids"], [start for start, _ in encoding["offset_mapping"]]
        weights = [0.0] * len(ids)
        for i in range(1, len(messages)):
            before = len(tokenizer.apply_chat_template(messages[:i], tools=tools, tokenize=False,
                                                       add_generation_prompt=messages[i]["role"] == "assistant"))
            upto = len(tokenizer.apply_chat_template(messages[: i + 1], tools=tools, tokenize=False))
            weight = 1.0 if messages[i]["role"] == "assistant" else PRETRAIN["user_weight"]
            for t, start in enumerate(starts):
                if before <= start < upto:
                    weights[t] = weight
        # Position t predicts token t + 1.
        out.append((ids, weights[1:] + [0.0]))
    return out


def pretrain(model, sequences: list[tuple[list[int], list[float]]], seed: int, log) -> float:
    """A fixed number of AdamW steps on length-bucketed, padded batches with the per-token loss weights."""
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim
    import numpy as np

    steps, batch = PRETRAIN["steps"], PRETRAIN["batch_size"]
    if len(sequences) < batch:
        raise ValueError(f"only {len(sequences)} pre-training conversations, too few for batches of {batch}")
    lr = PRETRAIN["learning_rate"]
    schedule = optim.join_schedules(
        [optim.linear_schedule(lr * 0.05, lr, PRETRAIN["warmup_steps"]),
         optim.cosine_decay(lr, steps - PRETRAIN["warmup_steps"], lr * PRETRAIN["min_lr_ratio"])],
        [PRETRAIN["warmup_steps"]],
    )
    optimizer = optim.AdamW(learning_rate=schedule, weight_decay=0.01)

    def loss_fn(m, x, y, w):
        losses = nn.losses.cross_entropy(m(x), y) * w
        return losses.sum() / mx.maximum(w.sum(), 1.0)

    value_and_grad = nn.value_and_grad(model, loss_fn)

    def step(x, y, w):
        loss, grads = value_and_grad(model, x, y, w)
        grads, _ = optim.clip_grad_norm(grads, 1.0)
        optimizer.update(model, grads)
        return loss

    # Batches of similar length waste little on padding; padding to a multiple of 32 bounds the shapes compiled.
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i][0]))
    batches = [order[i : i + batch] for i in range(0, len(order) - batch + 1, batch)]
    rng = np.random.RandomState(seed)
    losses: list[float] = []
    started = time.monotonic()
    queue: list[int] = []
    for i in range(steps):
        if not queue:
            queue = list(rng.permutation(len(batches)))
        members = batches[queue.pop()]
        width = -(-max(len(sequences[j][0]) for j in members) // 32) * 32
        x = np.zeros((len(members), width), dtype=np.int32)
        w = np.zeros((len(members), width), dtype=np.float32)
        for row, j in enumerate(members):
            ids, weights = sequences[j]
            x[row, : len(ids)] = ids
            w[row, : len(ids)] = weights
        y = np.concatenate([x[:, 1:], np.zeros((len(members), 1), dtype=np.int32)], axis=1)
        loss = step(mx.array(x), mx.array(y), mx.array(w))
        mx.eval(model.parameters(), optimizer.state, loss)
        losses.append(loss.item())
        if (i + 1) % 50 == 0 or i == 0:
            window = losses[-50:]
            log(f"pre-train step {i + 1}/{steps} loss {sum(window) / len(window):.3f} ({time.monotonic() - started:.0f}s)")
    tail = losses[-20:]
    return sum(tail) / len(tail)


def build(council: Council, out_dir: Path, seed: int, log) -> dict:
    import mlx.core as mx
    from mlx_lm.models import qwen3
    from mlx_lm.utils import save_config, save_model

    started = time.monotonic()
    tokenizer = tiny_tokenizer.build_tokenizer(corpus_texts(council, seed), out_dir)
    config = dict(MODEL_CONFIG, vocab_size=len(tokenizer), eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"))
    mx.random.seed(seed)
    model = qwen3.Model(qwen3.ModelArgs.from_dict(config))
    mx.eval(model.parameters())
    sequences = weighted_sequences(council, tokenizer, seed)
    tokens = sum(len(ids) for ids, _ in sequences)
    log(f"tokenizer: {len(tokenizer)} tokens; corpus: {len(sequences)} conversations, {tokens} tokens; "
        f"pre-training {PRETRAIN['steps']} steps")
    final_loss = pretrain(model, sequences, seed, log)
    if not math.isfinite(final_loss):
        raise RuntimeError("pre-training diverged (loss is not finite)")
    save_model(out_dir, model)
    save_config(config, out_dir / "config.json")
    info = {
        "format": FORMAT_VERSION,
        "seed": seed,
        "council": council.name,
        "corpus_tokens": tokens,
        "vocab_size": len(tokenizer),
        "pretrain": PRETRAIN,
        "final_loss": round(final_loss, 4),
        "build_seconds": round(time.monotonic() - started, 1),
    }
    (out_dir / "tiny_model.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def ensure(council_dir: Path, out_root: Path, seed: int, log) -> dict:
    council = load_council(council_dir)
    final = out_root / f"tiny-{cache_key(council, seed)}"
    if (final / "tiny_model.json").is_file():
        info = json.loads((final / "tiny_model.json").read_text(encoding="utf-8"))
        return {"model_dir": str(final), "cached": True, **info}
    out_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=out_root))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would otherwise stick to the renamed model folder
        info = build(council, tmp, seed, log)
        for path in tmp.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        try:
            os.rename(tmp, final)
        except OSError:
            # A concurrent build of the same key won the race; its result is equivalent.
            if not (final / "tiny_model.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return {"model_dir": str(final), "cached": False, **info}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build (or find) the tiny local model for a council.")
    parser.add_argument("--council", type=Path, default=DEFAULT_COUNCIL)
    parser.add_argument("--out-root", type=Path, required=True, help="models root; the model goes to <out-root>/tiny-<key>")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--print-path", action="store_true", help="print where the model is or would be; build nothing")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"[tiny-model] {message}", file=sys.stderr, flush=True)

    try:
        if args.print_path:
            council = load_council(args.council)
            final = args.out_root / f"tiny-{cache_key(council, args.seed)}"
            result = {"model_dir": str(final), "exists": (final / "tiny_model.json").is_file()}
        else:
            result = ensure(args.council, args.out_root, args.seed, log)
    except CouncilError as err:
        print(f"error: {err}", file=sys.stderr)
        print(json.dumps({"event": "error", "message": str(err)}), flush=True)
        return 2
    print(json.dumps({"event": "result", **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
