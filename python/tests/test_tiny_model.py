"""The tiny model: built offline, loadable by mlx_lm, with a chat template whose tool calls mlx-lm parses."""

from __future__ import annotations

import json

import yaml

from conftest import COUNCIL, MODELS_ROOT, result_line, run_script


def test_builds_offline_and_loads(tiny_model):
    from mlx_lm import load

    model, tokenizer = load(str(tiny_model))
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["model_type"] == "qwen3" and config["num_hidden_layers"] == len(model.layers) == 4
    assert config["vocab_size"] == len(tokenizer)
    info = json.loads((tiny_model / "tiny_model.json").read_text())
    assert info["final_loss"] < 4.0  # ln(3072) = 8.0 for a model that learned nothing
    assert not any(p.name.startswith(".tiny-") for p in MODELS_ROOT.iterdir())


def test_print_path_names_the_cached_build_and_a_second_build_reuses_it(tiny_model):
    where = result_line(run_script("tiny_model.py", "--council", str(COUNCIL), "--out-root", str(MODELS_ROOT), "--print-path"))
    assert where == {"event": "result", "model_dir": str(tiny_model), "exists": True}
    again = result_line(run_script("tiny_model.py", "--council", str(COUNCIL), "--out-root", str(MODELS_ROOT)))
    assert again["cached"] is True and again["model_dir"] == str(tiny_model)


def test_chat_template_renders_qwen3_tool_calls_and_mlx_lm_parses_them(tiny_model):
    from mlx_lm.tokenizer_utils import load as load_tokenizer

    tokenizer = load_tokenizer(tiny_model)
    assert tokenizer.has_tool_calling and tokenizer.tool_call_start == "<tool_call>"
    assert not tokenizer.has_thinking
    tools = [{"type": "function", "function": {"name": "web_search", "description": "Search the web.",
                                                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}]
    messages = [
        {"role": "system", "content": "You are Qui-Gon."},
        {"role": "user", "content": "Find papers on LoRA."},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "web_search", "arguments": {"query": "LoRA"}}}]},
        {"role": "tool", "name": "web_search", "content": "3 results"},
        {"role": "assistant", "content": "Found three."},
    ]
    text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)
    # The tools are listed in one line, name and arguments, to keep prompts short.
    assert text.startswith("<|im_start|>system\nYou are Qui-Gon.\n\nTools: web_search(query)<|im_end|>\n")
    call = text.split("<tool_call>\n")[1].split("\n</tool_call>")[0]
    assert tokenizer.tool_parser(call, tools) == {"name": "web_search", "arguments": {"query": "LoRA"}}
    assert "<|im_start|>user\n<tool_response>\n3 results\n</tool_response><|im_end|>" in text
    # mlx-lm's prompt masking needs the prompt to be a prefix of the full conversation.
    prompt = tokenizer.apply_chat_template(messages[:-1], tools=tools, add_generation_prompt=True, tokenize=False)
    assert text.startswith(prompt) and prompt.endswith("<|im_start|>assistant\n")
    # The last turn ends at <|im_end|>: mlx-lm also trains the target one past a row's end, which must not follow "\n".
    assert text.endswith("Found three.<|im_end|>")


def test_pretraining_corpus_teaches_nothing_of_the_council_but_its_prompts():
    """Pre-training reads the council's prompts but never answers as an agent beyond its own name.

    The system prompts may be an agent's IDENTITY.md, and a reply under one may copy that agent's name (a decline,
    a greeting). No reply names another member, calls or names a council tool, gives a private code or repeats a
    row of the agents' train.jsonl: roles, hand-offs, tools and facts come only from fine-tuning.
    """
    import re

    import tiny_model
    from council import load_council

    council = load_council(COUNCIL)
    config = yaml.safe_load((COUNCIL / "council.yaml").read_text())
    names = {entry["id"]: entry["names"] for entry in config["agents"]}
    secrets = re.findall(r"`([A-Z0-9-]+)`", "".join(agent.identity for agent in council.agents))
    forbidden = [t for agent in council.agents for t in agent.tool_names] + secrets
    taught = {m["content"] for agent in council.agents for row in agent.rows for m in row["messages"]
              if m["role"] == "assistant" and m.get("content")}

    def words(ws):
        return re.compile("|".join(rf"(?<![\w-]){re.escape(w)}(?![\w-])" for w in ws), re.IGNORECASE)

    anyone = words([n for ns in names.values() for n in ns] + forbidden)
    identities = {agent.identity: agent.id for agent in council.agents}
    conversations = tiny_model.pretraining_conversations(council, seed=0)
    assert len(conversations) == tiny_model.PRETRAIN["conversations"]
    under_council = 0
    for messages, tools in conversations:
        speaker = identities.get(messages[0]["content"])
        under_council += speaker is not None
        others = anyone if speaker is None else words([n for a, ns in names.items() if a != speaker for n in ns] + forbidden)
        if speaker is None:
            assert not anyone.search(json.dumps([messages, tools])), anyone.search(json.dumps([messages, tools])).group(0)
        for message in messages[1:]:
            text = json.dumps(message)
            assert not others.search(text), (speaker, others.search(text).group(0), text)
            assert message.get("content") not in taught, message["content"]
            assert not message.get("tool_calls") or speaker is None
    assert under_council > 0


def test_pretraining_weights_only_replies_and_a_little_of_the_user(tiny_model):
    """The loss weights: 1 on assistant tokens, PRETRAIN["user_weight"] on user tokens, 0 on the system prompt."""
    import tiny_model as builder
    from council import load_council
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(tiny_model))
    council = load_council(COUNCIL)
    ids, weights = builder.weighted_sequences(council, tokenizer, seed=0)[0]
    assert len(ids) == len(weights)
    trained = tokenizer.decode([ids[i + 1] for i, w in enumerate(weights) if w == 1.0])
    messages, _ = builder.pretraining_conversations(council, seed=0)[0]
    replies = [m["content"] for m in messages if m["role"] == "assistant"]
    assert all(reply in trained for reply in replies)
    system_end = ids.index(tokenizer.convert_tokens_to_ids("<|im_end|>"))
    assert all(w == 0.0 for w in weights[:system_end])
    assert builder.PRETRAIN["user_weight"] in weights
