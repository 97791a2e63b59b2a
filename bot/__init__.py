"""Channels and the command line: the outer layer that wires dialogs and backend together."""
