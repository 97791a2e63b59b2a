"""Reading YAML: PyYAML's safe loader, on libyaml's C parser when PyYAML was built with it.

The domain, the NLU data, the catalogue and the policies are read at every start (each worker, each
CLI command, each test's app); the pure-Python parser spent seconds on them, the C one a tenth of that,
with the same result (same safe constructors, same types; every YAML file in the repository parses
identically under both).

For the operator's own files only. The two parsers differ at the edges (libyaml accepts a tab after
``key:``, refuses a byte-order mark in mid-file), and libyaml's recursion has no depth limit: a file
from outside (a staff roster) is read with ``yaml.safe_load``, whose nesting ends in a RecursionError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream: str | bytes) -> Any:
    """``yaml.safe_load``, faster; raises the same ``yaml.YAMLError`` (with ``problem_mark``) on bad input."""
    return yaml.load(stream, Loader=SafeLoader)


def read(path: Path) -> Any:
    """The YAML document in the UTF-8 file ``path``."""
    return safe_load(path.read_text(encoding="utf-8"))
