"""Trains one LoRA adapter with mlx-lm under a wall-clock budget.

Only the AGENT MODIFIABLE section below may change between experiments; everything else is fixed.
The section is validated from this file's source (with `ast`, never executed first) before anything
else happens: a bad section exits 2 with a message naming the parameter.

Usage:
  python train.py --model DIR_OR_ID --data DIR --out DIR --budget-seconds N --seed N [--search-space NAME]
                  [--max-seq-length N] [--batch-size N] [--steps-per-eval N] [--val-batches N]

stdout carries JSON lines only: `progress` and `val` events while training, then exactly one `result`
line. Human-readable logs (including mlx-lm's own) go to stderr.
Exit codes: 0 ok or budget, 1 failed, 2 bad section or arguments, 3 diverged.
"""

import time

STARTED = time.monotonic()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import hparams  # noqa: E402

# The search space (python/search-spaces/<name>.json) is the one for this mode's base model; it is read from the
# command line before argparse runs, because the section is checked before anything else happens.
HP = hparams.read_file_or_exit(__file__, search_space=hparams.search_space_from_argv(sys.argv[1:]))

# ==== AGENT MODIFIABLE: BEGIN ====
NUM_LAYERS = 32
LORA_RANK = 32
LORA_ALPHA = 64
DROPOUT = 0.05
LEARNING_RATE = 5e-06
ITERS = 120
GRAD_ACCUM = 4
DATA_MIX_RATIO = 0.25
PER_AGENT_WEIGHTS = {"yoda": 1.0, "jocasta": 1.0, "windu": 1.0, "quigon": 1.0, "cilghal": 1.0, "mundi": 1.0}
EXPERIMENT_HYPOTHESIS = "Baseline: the seed's default hyperparameters."
# ==== AGENT MODIFIABLE: END ====

import mlx.core as mx  # noqa: E402
import mlx.optimizers as optim  # noqa: E402
import numpy as np  # noqa: E402
from mlx_lm import load  # noqa: E402
from mlx_lm.tuner.datasets import CacheDataset, load_local_dataset  # noqa: E402
from mlx_lm.tuner.trainer import TrainingArgs, evaluate, iterate_batches, train  # noqa: E402
from mlx_lm.tuner.callbacks import TrainingCallback  # noqa: E402
from mlx_lm.tuner.utils import linear_to_lora_layers  # noqa: E402

EXIT_OK, EXIT_FAILED, EXIT_DIVERGED = 0, 1, 3
# A loss this far above where training started is an explosion, not noise.
DIVERGENCE_FACTOR, DIVERGENCE_MARGIN = 4.0, 4.0
# Seconds kept free after the last step for writing the adapter and the result.
SAVE_MARGIN_SECONDS = 1.0


def log(message: str) -> None:
    print(f"[train] {message}", file=sys.stderr, flush=True)


def finite_or_none(x):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


class Events:
    """JSON lines on the original stdout; fd 1 itself is pointed at stderr so that library prints never mix in."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)

    def emit(self, event: str, **fields) -> None:
        clean = {k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in fields.items()}
        self._out.write(json.dumps({"event": event, **clean}, ensure_ascii=False) + "\n")
        self._out.flush()


class Run(TrainingCallback):
    """Shared state of one run: the deadline-aware batch iterator and the callbacks that feed it."""

    def __init__(self, events: Events, deadline: float, max_batches: int, steps_per_eval: int, seed: int) -> None:
        self.events = events
        self.seed = seed
        self.deadline = deadline
        self.max_batches = max_batches
        self.steps_per_eval = steps_per_eval
        self.stop_reason = None
        self.batches = 0
        self.initial_val_loss = None
        self.train_loss = None
        self.val_seconds = None
        self.step_seconds = None
        self.tokens = 0
        self.token_seconds = 0.0
        self.peak_memory_gb = 0.0
        self._last_yield = None
        self._val_since_yield = 0.0

    # -- the iterator mlx-lm's train() pulls batches from ------------------------------------------
    def iterate_batches(self, dataset, batch_size, max_seq_length, loop=False, seed=None, comm_group=None):
        if not loop:
            # evaluate() takes a random subset when val_batches is not -1; the same seed every time makes the
            # losses before and after training comparable, and restoring the state keeps the batch order of
            # training independent of how often validation runs.
            saved = np.random.get_state()
            try:
                yield from iterate_batches(dataset, batch_size, max_seq_length, seed=self.seed, comm_group=comm_group)
            finally:
                np.random.set_state(saved)
            return
        inner = iterate_batches(dataset, batch_size, max_seq_length, loop=True, seed=seed, comm_group=comm_group)
        for batch in inner:
            if self.stop_reason or self.batches >= self.max_batches:
                return
            now = time.monotonic()
            if self._last_yield is not None:
                step = max(0.0, now - self._last_yield - self._val_since_yield)
                # Conservative: a slow step (e.g. a JIT compile) only decays away slowly.
                self.step_seconds = step if self.step_seconds is None else max(step, 0.7 * self.step_seconds + 0.3 * step)
            upcoming = self.batches + 1
            needed = (self.step_seconds or 0.0) + SAVE_MARGIN_SECONDS + (self.val_seconds or 0.0)
            if upcoming > 1 and upcoming % self.steps_per_eval == 0:
                needed += self.val_seconds or 0.0
            if now + needed > self.deadline:
                self.stop_reason = "budget"
                return
            self._last_yield = time.monotonic()
            self._val_since_yield = 0.0
            self.batches = upcoming
            yield batch

    # -- callbacks ---------------------------------------------------------------------------------
    def on_train_loss_report(self, info):
        loss = info["train_loss"]
        self.train_loss = loss
        self.peak_memory_gb = max(self.peak_memory_gb, info["peak_memory"])
        window = info["trained_tokens"] - self.tokens
        if info["tokens_per_second"] > 0:
            self.token_seconds += window / info["tokens_per_second"]
        self.tokens = info["trained_tokens"]
        elapsed = time.monotonic() - STARTED
        remaining = self.max_batches - info["iteration"]
        per_batch = self.step_seconds or 0.0
        eta = min(remaining * per_batch, max(0.0, self.deadline - time.monotonic()))
        self.events.emit(
            "progress",
            iteration=info["iteration"],
            train_loss=float(loss),
            learning_rate=float(info["learning_rate"]),
            tokens_per_second=float(info["tokens_per_second"]),
            peak_memory_gb=float(info["peak_memory"]),
            elapsed_seconds=round(elapsed, 2),
            eta_seconds=round(eta, 2),
        )
        if self.diverging(loss):
            log(f"train loss {loss} at iteration {info['iteration']} is diverging; stopping")
            self.stop_reason = "diverged"

    def on_val_loss_report(self, info):
        loss = info["val_loss"]
        self._val_since_yield += info["val_time"]
        self.val_seconds = info["val_time"] if self.val_seconds is None else max(self.val_seconds, info["val_time"])
        if self.initial_val_loss is None:
            self.initial_val_loss = loss
        self.events.emit("val", iteration=info["iteration"], val_loss=float(loss))
        if self.diverging(loss):
            self.stop_reason = "diverged"

    def diverging(self, loss) -> bool:
        if not math.isfinite(loss):
            return True
        base = self.initial_val_loss
        return base is not None and loss > max(DIVERGENCE_FACTOR * base, base + DIVERGENCE_MARGIN)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Train one LoRA adapter under a time budget (see the module docstring).")
    p.add_argument("--model", required=True, help="model directory or Hugging Face id")
    p.add_argument("--data", required=True, type=Path, help="directory with train.jsonl and valid.jsonl (prepare.py)")
    p.add_argument("--out", required=True, type=Path, help="adapter output directory")
    p.add_argument("--budget-seconds", required=True, type=float, help="wall-clock budget, counted from process start")
    p.add_argument("--seed", required=True, type=int)
    p.add_argument("--search-space", default=hparams.DEFAULT_SEARCH_SPACE, help="the table the section is checked against")
    p.add_argument("--max-seq-length", type=int, default=2048)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--steps-per-eval", type=int, default=200, help="micro-batches between validations")
    # All of valid.jsonl by default: evaluate() draws a random subset otherwise, and the losses before and
    # after training would then be measured on different rows.
    p.add_argument("--val-batches", type=int, default=-1, help="validation batches per evaluation; -1 (default) for all")
    args = p.parse_args(argv)
    for name in ("budget_seconds", "max_seq_length", "batch_size", "steps_per_eval"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.val_batches == 0 or args.val_batches < -1:
        p.error("--val-batches must be positive or -1")
    return args


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def run(args, events: Events) -> tuple[int, dict]:
    deadline = STARTED + args.budget_seconds
    np.random.seed(args.seed)
    mx.random.seed(args.seed)

    log(f"loading {args.model}")
    model, tokenizer = load(args.model)
    train_set, valid_set, _ = load_local_dataset(args.data, tokenizer, SimpleNamespace(mask_prompt=True))
    if len(train_set) == 0 or len(valid_set) == 0:
        raise ValueError(f"{args.data} must hold non-empty train.jsonl and valid.jsonl (run prepare.py)")
    batch_size = min(args.batch_size, len(train_set), len(valid_set))
    if batch_size < args.batch_size:
        log(f"batch size {args.batch_size} lowered to {batch_size}: the data set has too few rows")

    depth = len(model.layers)
    num_layers = min(HP["NUM_LAYERS"], depth)
    if num_layers < HP["NUM_LAYERS"]:
        log(f"warning: NUM_LAYERS={HP['NUM_LAYERS']} exceeds the model's {depth} blocks; using {num_layers}")
    lora_parameters = {"rank": HP["LORA_RANK"], "scale": HP["LORA_ALPHA"] / HP["LORA_RANK"], "dropout": HP["DROPOUT"]}
    model.freeze()
    linear_to_lora_layers(model, num_layers, lora_parameters)

    args.out.mkdir(parents=True, exist_ok=True)
    partial = args.out / "adapters.partial.safetensors"
    iters = HP["ITERS"]
    run_state = Run(events, deadline, max_batches=iters, steps_per_eval=args.steps_per_eval, seed=args.seed)
    training_args = TrainingArgs(
        batch_size=batch_size,
        # One more than the batches the iterator yields: train() then never runs its own validation
        # before the last step, and the final val loss below is measured after it.
        iters=iters + 1,
        val_batches=args.val_batches,
        steps_per_report=HP["GRAD_ACCUM"],
        steps_per_eval=args.steps_per_eval,
        steps_per_save=iters + 2,
        max_seq_length=args.max_seq_length,
        adapter_file=str(partial),
        grad_accumulation_steps=HP["GRAD_ACCUM"],
    )
    log(f"training: {len(train_set)} rows, batch {batch_size}, up to {iters} micro-batches, "
        f"LoRA on {num_layers}/{depth} blocks {lora_parameters}, budget {args.budget_seconds}s")
    train(
        model,
        optim.AdamW(learning_rate=HP["LEARNING_RATE"]),
        CacheDataset(train_set),
        CacheDataset(valid_set),
        args=training_args,
        iterate_batches=run_state.iterate_batches,
        training_callback=run_state,
    )

    adapter_file = args.out / "adapters.safetensors"
    os.replace(partial, adapter_file)
    write_json_atomic(args.out / "adapter_config.json", {
        "fine_tune_type": "lora",
        "num_layers": num_layers,
        "lora_parameters": lora_parameters,
        "model": args.model,
        "data": str(args.data),
        "seed": args.seed,
        "iterations": run_state.batches,
        "hyperparameters": HP,
    })

    status = run_state.stop_reason or "ok"
    val_loss = None
    if status != "diverged":
        val_loss = evaluate(model, CacheDataset(valid_set), batch_size, args.val_batches, args.max_seq_length,
                            iterate_batches=run_state.iterate_batches)
        events.emit("val", iteration=run_state.batches, val_loss=float(val_loss))
        if not math.isfinite(val_loss):
            status = "diverged"
    initial = run_state.initial_val_loss if run_state.initial_val_loss is not None else val_loss
    result = {
        "status": status,
        "iterations": run_state.batches,
        "train_loss": finite_or_none(run_state.train_loss),
        "val_loss": finite_or_none(val_loss),
        "initial_val_loss": finite_or_none(initial),
        "seconds": round(time.monotonic() - STARTED, 3),
        "tokens_per_second": round(run_state.tokens / run_state.token_seconds, 1) if run_state.token_seconds else 0.0,
        "peak_memory_gb": round(max(run_state.peak_memory_gb, mx.get_peak_memory() / 1e9), 4),
        "adapter_path": str(args.out.resolve()),
        "adapter_sha256": sha256_file(adapter_file),
    }
    if status == "budget":
        result["message"] = f"time budget reached after {run_state.batches} of {iters} micro-batches"
    elif status == "diverged":
        result["message"] = f"loss diverged at micro-batch {run_state.batches}"
    return (EXIT_DIVERGED if status == "diverged" else EXIT_OK), result


def main(argv=None) -> int:
    args = parse_args(argv)
    events = Events()
    try:
        code, result = run(args, events)
    except Exception as err:  # the result line must be written whatever failed
        traceback.print_exc(file=sys.stderr)
        code = EXIT_FAILED
        result = {"status": "failed", "iterations": 0, "train_loss": None, "val_loss": None, "initial_val_loss": None,
                  "seconds": round(time.monotonic() - STARTED, 3), "tokens_per_second": 0.0, "peak_memory_gb": 0.0,
                  "adapter_path": None, "adapter_sha256": None, "message": f"{type(err).__name__}: {err}"}
    events.emit("result", **result)
    return code


if __name__ == "__main__":
    sys.exit(main())
