"""Reading YAML: PyYAML's safe loader, on libyaml's C parser when PyYAML was built with it.

The domain, the NLU data, the catalogue and the policies are read at every start (each worker, each
CLI command, each test's app); the pure-Python parser spent seconds on them, the C one a tenth of that,
with the same result (same safe constructors, same types)."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream: str | bytes) -> Any:
    """``yaml.safe_load``, faster; raises the same ``yaml.YAMLError`` (with ``problem_mark``) on bad input."""
    return yaml.load(stream, Loader=SafeLoader)
