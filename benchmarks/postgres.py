"""A fresh database on a PostgreSQL server for one benchmark run."""

from __future__ import annotations

import secrets


def fresh_database(server_url: str, prefix: str) -> str:
    """CREATE DATABASE <prefix>_<random> on the server of ``server_url``; returns its URL."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{secrets.token_hex(5)}"
    admin = create_engine(server_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name
