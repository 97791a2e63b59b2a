"""A small Dockerfile reader for the image replay: instructions with their arguments, per stage."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instruction:
    line: int
    op: str
    args: str

    def exec_form(self) -> list[str]:
        """CMD/HEALTHCHECK arguments: JSON exec form only (a shell form would hide a shell's quoting)."""
        args = self.args
        if self.op == "HEALTHCHECK":
            args = args[args.index("CMD") + 3:]
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(a, str) for a in value), self
        return value

    def env_pairs(self) -> list[tuple[str, str]]:
        return [tuple(word.split("=", 1)) for word in shlex.split(self.args)]  # type: ignore[misc]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def parse(path: Path) -> list[Stage]:
    stages: list[Stage] = []
    pending, start = "", 0
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if pending and raw.lstrip().startswith("#"):
            continue  # comments inside a continued instruction
        if not pending:
            start = n
        if raw.rstrip().endswith("\\"):
            pending += raw.strip()[:-1].strip() + " "
            continue
        text = pending + raw.strip()
        pending = ""
        op, _, args = text.partition(" ")
        op, args = op.upper(), args.strip()
        if op == "FROM":
            m = re.fullmatch(r"(\S+)(?: AS (\S+))?", args, re.IGNORECASE)
            assert m, f"line {start}: {text}"
            stages.append(Stage(m.group(1), m.group(2)))
        else:
            assert stages, f"line {start}: {op} before FROM"
            stages[-1].instructions.append(Instruction(start, op, args))
    return stages
