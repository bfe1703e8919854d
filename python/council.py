"""Loads a council directory (council.yaml, agents' IDENTITY.md / tools.json / train.jsonl, general pool).

Every training row is checked on read: a malformed row raises CouncilError naming
the file, the line and what is wrong, so nothing downstream sees bad data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

AGENT_ID = re.compile(r"^[a-z][a-z0-9_]*$")
ROLES = ("user", "assistant", "tool")


class CouncilError(ValueError):
    """The council directory or one of its files is malformed."""


@dataclass
class Agent:
    id: str
    name: str
    identity: str
    tools: list[dict[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tool_names(self) -> set[str]:
        return {t["function"]["name"] for t in self.tools}


@dataclass
class Council:
    root: Path
    name: str
    agents: list[Agent]
    pool: list[dict[str, Any]]

    @property
    def agent_ids(self) -> list[str]:
        return [a.id for a in self.agents]

    def files(self, training_data: bool = True) -> list[Path]:
        """Every file whose content defines the council, in a stable order (for content hashes).

        Without training_data, the agents' train.jsonl files are left out: what a base model built from the
        council's prompts depends on, so that new training rows do not rebuild it.
        """
        out = [self.root / "council.yaml"]
        for agent in self.agents:
            base = self.root / "agents" / agent.id
            out += [base / "IDENTITY.md", base / "tools.json"]
            if training_data:
                out.append(base / "train.jsonl")
        out.append(self.root / "general" / "pool.jsonl")
        return out


def load_council(root: str | Path) -> Council:
    root = Path(root)
    config_path = root / "council.yaml"
    if not config_path.is_file():
        raise CouncilError(f"{config_path}: not found; --council must point at a directory holding council.yaml")
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise CouncilError(f"{config_path}: not valid YAML: {err}") from None
    if not isinstance(config, dict) or not isinstance(config.get("agents"), list) or not config["agents"]:
        raise CouncilError(f"{config_path}: expected a mapping with a non-empty 'agents' list")

    agents: list[Agent] = []
    for index, entry in enumerate(config["agents"]):
        where = f"{config_path}: agents[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not AGENT_ID.match(entry["id"]):
            raise CouncilError(f"{where}: 'id' must be a lowercase identifier such as yoda")
        agent_id = entry["id"]
        if any(a.id == agent_id for a in agents):
            raise CouncilError(f"{where}: duplicate agent id {agent_id!r}")
        base = root / "agents" / agent_id
        identity = _read_text(base / "IDENTITY.md").strip()
        if not identity:
            raise CouncilError(f"{base / 'IDENTITY.md'}: empty; the identity is the agent's system prompt")
        tools = _read_tools(base / "tools.json")
        agent = Agent(id=agent_id, name=str(entry.get("name", agent_id)), identity=identity, tools=tools)
        agent.rows = read_rows(base / "train.jsonl", tool_names=agent.tool_names)
        agents.append(agent)

    pool = read_rows(root / "general" / "pool.jsonl", tool_names=set())
    return Council(root=root, name=str(config.get("name", root.name)), agents=agents, pool=pool)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise CouncilError(f"{path}: not found")
    return path.read_text(encoding="utf-8")


def _read_tools(path: Path) -> list[dict[str, Any]]:
    try:
        tools = json.loads(_read_text(path))
    except json.JSONDecodeError as err:
        raise CouncilError(f"{path}:{err.lineno}: not valid JSON: {err.msg}") from None
    if not isinstance(tools, list):
        raise CouncilError(f"{path}: expected a JSON array of OpenAI function schemas")
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not (
            isinstance(tool, dict)
            and tool.get("type") == "function"
            and isinstance(fn, dict)
            and isinstance(fn.get("name"), str)
            and isinstance(fn.get("parameters"), dict)
        ):
            raise CouncilError(f"{path}: tools[{i}] must be {{\"type\":\"function\",\"function\":{{\"name\",\"parameters\",...}}}}")
    return tools


def read_rows(path: Path, tool_names: set[str]) -> list[dict[str, Any]]:
    """Reads a JSONL file of training rows; `tool_names` are the tools a row may call (none for the pool)."""
    text = _read_text(path)
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise CouncilError(f"{path}:{lineno}: not valid JSON ({err.msg} at column {err.colno})") from None
        problem = row_problem(row, tool_names)
        if problem:
            raise CouncilError(f"{path}:{lineno}: {problem}")
        rows.append(row)
    if not rows:
        raise CouncilError(f"{path}: no rows")
    return rows


def row_problem(row: Any, tool_names: set[str]) -> str | None:
    """What is wrong with a training row, or None if it is well formed."""
    if not isinstance(row, dict) or not isinstance(row.get("messages"), list) or not row["messages"]:
        return "expected an object with a non-empty 'messages' list"
    messages = row["messages"]
    if not isinstance(messages[0], dict) or messages[0].get("role") != "user":
        return "messages[0] must be a user message (the pipeline adds the system message itself)"
    for i, msg in enumerate(messages):
        problem = _message_problem(msg, tool_names)
        if problem:
            return f"messages[{i}]: {problem}"
    if messages[-1]["role"] != "assistant":
        return "the last message must be an assistant message (it is the one that is trained)"
    return None


def _message_problem(msg: Any, tool_names: set[str]) -> str | None:
    if not isinstance(msg, dict):
        return "expected an object"
    role = msg.get("role")
    if role not in ROLES:
        return f"role must be one of {', '.join(ROLES)}, got {role!r}"
    if not isinstance(msg.get("content"), str):
        return "content must be a string"
    if role == "tool":
        if msg.get("name") not in tool_names:
            return f"tool result names {msg.get('name')!r}, which is not one of this agent's tools"
    calls = msg.get("tool_calls")
    if calls is None:
        return None
    if role != "assistant":
        return "only assistant messages may carry tool_calls"
    if not isinstance(calls, list) or not calls:
        return "tool_calls must be a non-empty list"
    for j, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            return f"tool_calls[{j}]: expected {{\"type\":\"function\",\"function\":{{\"name\",\"arguments\"}}}}"
        if fn.get("name") not in tool_names:
            allowed = ", ".join(sorted(tool_names)) or "none (no tools here)"
            return f"tool_calls[{j}]: {fn.get('name')!r} is not one of this agent's tools ({allowed})"
        if not isinstance(fn.get("arguments"), dict):
            return f"tool_calls[{j}]: arguments must be a JSON object, not {type(fn.get('arguments')).__name__}"
    return None
