"""Builds the tiny local model: a small Qwen3 that mlx_lm.load and mlx_lm.server accept, made offline.

1. A byte-level BPE tokenizer trained with `tokenizers` on the council's own text.
2. A ChatML chat template in Qwen3's tool format (`<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>`),
   with `"tool_parser_type": "json_tools"` in tokenizer_config.json so the server returns `tool_calls`.
   No `<think>` tokens, so no reasoning mode.
3. A short pre-training of all weights on the council corpus rendered through that template: a fixed
   number of steps, so the result is the same for a seed and the model speaks on topic before any LoRA.

The output directory is `<out-root>/tiny-<key>`, where the key hashes this file, the council's content,
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
import random
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from council import Council, CouncilError, load_council

HERE = Path(__file__).resolve().parent
DEFAULT_COUNCIL = HERE.parent / "council"
FORMAT_VERSION = 1

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
]
VOCAB_SIZE = 2048
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
PRETRAIN = {"steps": 240, "conversation_repeats": 6, "full_every": 8, "batch_size": 4, "seq_length": 128, "learning_rate": 5e-3, "warmup_steps": 12, "min_lr_ratio": 0.1}

TOOLS_PREAMBLE = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_POSTAMBLE = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
    "</tool_call>"
)

# Qwen3's template without the reasoning parts, and with each tool shown as its name, description and argument
# names rather than the whole JSON schema: on two CPU cores the full schemas would double every prompt. The rendering of messages[:-1] with a generation prompt is
# always a prefix of the full rendering, which mlx-lm's prompt masking relies on.
CHAT_TEMPLATE = (
    "{%- if tools %}"
    "{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}"
    "{{- " + json.dumps(TOOLS_PREAMBLE) + " }}"
    "{%- for tool in tools %}{%- set fn = tool.function if tool.function is defined else tool %}"
    "{{- '\\n' }}{{- {'name': fn.name, 'description': fn.description, 'arguments': fn.parameters.properties | list} | tojson }}"
    "{%- endfor %}"
    "{{- " + json.dumps(TOOLS_POSTAMBLE) + " }}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif messages[0].role == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- elif message.role == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if message.content %}{{- message.content }}{%- endif %}"
    "{%- if message.tool_calls %}"
    "{%- for tool_call in message.tool_calls %}"
    "{%- if (loop.first and message.content) or (not loop.first) %}{{- '\\n' }}{%- endif %}"
    "{%- if tool_call.function %}{%- set tool_call = tool_call.function %}{%- endif %}"
    "{{- '<tool_call>\\n{\"name\": \"' }}{{- tool_call.name }}{{- '\", \"arguments\": ' }}"
    "{%- if tool_call.arguments is string %}{{- tool_call.arguments }}{%- else %}{{- tool_call.arguments | tojson }}{%- endif %}"
    "{{- '}\\n</tool_call>' }}"
    "{%- endfor %}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}"
    "{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}"
    "{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}"
    "{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def cache_key(council: Council, seed: int) -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update((HERE / "council.py").read_bytes())
    spec = {"format": FORMAT_VERSION, "seed": seed, "vocab": VOCAB_SIZE, "model": MODEL_CONFIG, "pretrain": PRETRAIN}
    h.update(json.dumps(spec, sort_keys=True).encode())
    for path in council.files():
        h.update(str(path.relative_to(council.root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def conversations(council: Council) -> list[tuple[list[dict], list[dict]]]:
    """Every council row as (messages with the agent's system prompt, tools); pool rows go to agents in turn."""
    out = []
    for agent in council.agents:
        for row in agent.rows:
            out.append(([{"role": "system", "content": agent.identity}] + row["messages"], agent.tools))
    for i, row in enumerate(council.pool):
        agent = council.agents[i % len(council.agents)]
        out.append(([{"role": "system", "content": agent.identity}] + row["messages"], agent.tools))
    return out


def corpus_texts(council: Council) -> list[str]:
    """The raw text the tokenizer learns from: everything the template will ever render."""
    texts = [TOOLS_PREAMBLE, TOOLS_POSTAMBLE]
    for agent in council.agents:
        texts.append(agent.identity)
        texts += [json.dumps(t, ensure_ascii=False) for t in agent.tools]
    for messages, _ in conversations(council):
        for m in messages[1:]:
            texts.append(m["content"])
            for call in m.get("tool_calls") or []:
                fn = call["function"]
                texts.append(json.dumps({"name": fn["name"], "arguments": fn["arguments"]}, ensure_ascii=False))
    return texts


def build_tokenizer(council: Council, out_dir: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus_texts(council), trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[3:],
    )
    hf.chat_template = CHAT_TEMPLATE
    hf.save_pretrained(str(out_dir))
    config_path = out_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    # mlx-lm reads this key to pick its tool-call parser (tokenizer_utils.load).
    config["tool_parser_type"] = "json_tools"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return PreTrainedTokenizerFast.from_pretrained(str(out_dir))


def token_stream(council: Council, tokenizer, seed: int) -> list[int]:
    """The pre-training corpus: conversations rendered through the chat template, shuffled, concatenated.

    A system prompt with its tools is ~90% of a fully rendered row, so full renderings alone would teach
    little but the prompts. Every conversation therefore also appears on its own (no system turn)
    PRETRAIN["conversation_repeats"] times, and one row in PRETRAIN["full_every"] appears in full.
    """
    items: list[tuple[list[dict], list[dict] | None]] = []
    for i, (messages, tools) in enumerate(conversations(council)):
        items += [(messages[1:], None)] * PRETRAIN["conversation_repeats"]
        if i % PRETRAIN["full_every"] == 0:
            items.append((messages, tools))
    random.Random(f"{seed}/pretrain-order").shuffle(items)
    ids: list[int] = []
    for messages, tools in items:
        ids += tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=False)
    return ids


def pretrain(model, ids: list[int], seed: int, log) -> float:
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim
    import numpy as np

    steps, batch, seq = PRETRAIN["steps"], PRETRAIN["batch_size"], PRETRAIN["seq_length"]
    data = np.array(ids, dtype=np.int32)
    windows = (len(data) - 1) // seq
    if windows < batch:
        raise ValueError(f"the council corpus has {len(data)} tokens, too few for pre-training batches")
    lr = PRETRAIN["learning_rate"]
    schedule = optim.join_schedules(
        [optim.linear_schedule(lr * 0.05, lr, PRETRAIN["warmup_steps"]),
         optim.cosine_decay(lr, steps - PRETRAIN["warmup_steps"], lr * PRETRAIN["min_lr_ratio"])],
        [PRETRAIN["warmup_steps"]],
    )
    optimizer = optim.AdamW(learning_rate=schedule, weight_decay=0.01)

    def loss_fn(m, x, y):
        return nn.losses.cross_entropy(m(x), y).mean()

    value_and_grad = nn.value_and_grad(model, loss_fn)
    state = [model.state, optimizer.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def step(x, y):
        loss, grads = value_and_grad(model, x, y)
        grads, _ = optim.clip_grad_norm(grads, 1.0)
        optimizer.update(model, grads)
        return loss

    rng = np.random.RandomState(seed)
    order = rng.permutation(windows)
    cursor = 0
    losses: list[float] = []
    started = time.monotonic()
    for i in range(steps):
        if cursor + batch > len(order):
            order, cursor = rng.permutation(windows), 0
        starts = order[cursor : cursor + batch] * seq
        cursor += batch
        chunk = np.stack([data[s : s + seq + 1] for s in starts])
        loss = step(mx.array(chunk[:, :-1]), mx.array(chunk[:, 1:]))
        mx.eval(state, loss)
        losses.append(loss.item())
        if (i + 1) % 40 == 0 or i == 0:
            window = losses[-40:]
            log(f"pre-train step {i + 1}/{steps} loss {sum(window) / len(window):.3f} ({time.monotonic() - started:.0f}s)")
    tail = losses[-10:]
    return sum(tail) / len(tail)


def build(council: Council, out_dir: Path, seed: int, log) -> dict:
    import mlx.core as mx
    from mlx_lm.models import qwen3
    from mlx_lm.utils import save_config, save_model

    started = time.monotonic()
    tokenizer = build_tokenizer(council, out_dir)
    config = dict(MODEL_CONFIG, vocab_size=len(tokenizer), eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"))
    mx.random.seed(seed)
    model = qwen3.Model(qwen3.ModelArgs.from_dict(config))
    mx.eval(model.parameters())
    ids = token_stream(council, tokenizer, seed)
    log(f"tokenizer: {len(tokenizer)} tokens; corpus: {len(ids)} tokens; pre-training {PRETRAIN['steps']} steps")
    final_loss = pretrain(model, ids, seed, log)
    if not math.isfinite(final_loss):
        raise RuntimeError("pre-training diverged (loss is not finite)")
    save_model(out_dir, model)
    save_config(config, out_dir / "config.json")
    info = {
        "format": FORMAT_VERSION,
        "seed": seed,
        "council": council.name,
        "corpus_tokens": len(ids),
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
