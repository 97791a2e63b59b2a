"""Staff lifecycle: tokens, status, deactivation."""

from __future__ import annotations


class StaffFacade:
    pass
