"""Pure domain rules: standard library only, no storage, no I/O."""
