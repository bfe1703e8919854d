"""The tiny model's tokenizer and chat template (tiny_model.py trains the tokenizer on its pre-training text).

The template is the model's own, saved in its tokenizer files, so mlx_lm.load and mlx_lm.server render prompts for
the tiny model with the same code paths as for Qwen.
"""

from __future__ import annotations

import json
from pathlib import Path

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
TOOLS_HEADING = "\n\nTools: "

# Qwen3's template without the reasoning parts, and with the tools listed in one line as `name(arg, ...)`: the
# full JSON schemas would be most of every prompt, and on two CPU cores every prompt token costs training time
# (fine-tuning on a prompt of ~300 tokens instead of ~700 more than doubles the steps a budget allows). Tool calls
# are Qwen3's `<tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>`, which mlx_lm.server's json_tools parser
# reads. The rendering of messages[:-1] with a generation prompt is always a prefix of the full rendering, which
# mlx-lm's prompt masking relies on. A conversation's last assistant turn ends at <|im_end|>, without Qwen's newline:
# mlx-lm's loss mask takes one target past the end of a row (the padding token), and after a newline that target
# taught the model to open every reply with <|endoftext|>; after <|im_end|>, which ends generation, it is harmless.
CHAT_TEMPLATE = (
    "{%- if messages[0].role == 'system' or tools %}"
    "{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0].role == 'system' %}{{- messages[0].content }}{%- endif %}"
    "{%- if tools %}"
    "{{- " + json.dumps(TOOLS_HEADING) + " }}"
    "{%- for tool in tools %}{%- set fn = tool.function if tool.function is defined else tool %}"
    "{%- if not loop.first %}{{- '; ' }}{%- endif %}"
    "{{- fn.name + '(' + (fn.parameters.properties | list | join(', ')) + ')' }}"
    "{%- endfor %}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
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
    "{{- '<|im_end|>' }}{%- if not loop.last %}{{- '\\n' }}{%- endif %}"
    "{%- elif message.role == 'tool' %}"
    "{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}"
    "{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}"
    "{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def build_tokenizer(texts: list[str], out_dir: Path):
    """A byte-level BPE of VOCAB_SIZE tokens trained on `texts`, saved to out_dir with the chat template."""
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
    tok.train_from_iterator(texts, trainer)
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
