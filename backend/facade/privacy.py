"""A client's personal data: export, erasure, retention."""

from __future__ import annotations


class PrivacyFacade:
    pass
