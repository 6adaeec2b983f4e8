"""Planner statistics kept current while a job loads many rows (PostgreSQL).

PostgreSQL plans with the statistics ANALYZE gathered last. During a first load of a large
stream they lag far behind (autovacuum runs once a minute at best, and some installations
turn it off): planned as if `customers` held a few rows, a lookup of a page's 200 keys scans
every row of the table and filters, 1 ms at 1,000 rows and 400 ms at 100,000. Workers call
`analyze_if_stale` as they go, and it refreshes a table's statistics once its rows changed
by a fifth since they were last gathered, as autovacuum would.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["analyze_if_stale"]

_STALE = text("""
    select relname from pg_stat_user_tables
    where schemaname = current_schema() and relname = any(:tables)
      and n_mod_since_analyze > greatest(1000, 0.2 * n_live_tup)
""")


def analyze_if_stale(connection: Connection, tables: Sequence[str]) -> list[str]:
    """ANALYZE those of `tables` whose statistics lag; the tables analyzed."""
    if connection.dialect.name != "postgresql":
        return []  # SQLite's planner does not need them for these lookups
    stale = list(connection.execute(_STALE, {"tables": list(tables)}).scalars())
    for table in stale:
        connection.exec_driver_sql(f'ANALYZE "{table}"')
    return stale
