"""Loads a base model with an adapter through mlx_lm, as the server will, and greedily answers one prompt.

Usage: python check_adapter.py --model DIR_OR_ID --adapter DIR [--prompt TEXT] [--max-tokens N]
Prints one JSON line: {"event": "result", "loaded": true, "lora_layers": N, "sample": "..."}.
"""

from __future__ import annotations

import argparse
import json
import sys

from mlx_lm import generate, load
from mlx_lm.sample_utils import make_sampler
from mlx_lm.tuner.lora import LoRALinear


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check that an adapter loads with mlx_lm and produces text.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--adapter", required=True)
    parser.add_argument("--prompt", default="Who are you?")
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args(argv)
    try:
        model, tokenizer = load(args.model, adapter_path=args.adapter)
    except (OSError, ValueError, KeyError) as err:
        print(json.dumps({"event": "error", "message": f"the adapter does not load: {err}"}), flush=True)
        return 1
    lora_layers = sum(1 for _, m in model.named_modules() if isinstance(m, LoRALinear))
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": args.prompt}], add_generation_prompt=True)
    sample = generate(model, tokenizer, prompt, max_tokens=args.max_tokens, sampler=make_sampler(0.0))
    print(json.dumps({"event": "result", "loaded": True, "lora_layers": lora_layers, "sample": sample}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
