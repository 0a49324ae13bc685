"""SQLAlchemy Core statements compiled once and run straight on the DB-API cursor.

The writer applies every change with about ten small statements. Through ``Connection.execute`` each
costs several times what SQLite needs to run it (parameter processing, result set-up); compiling the
statement once for the engine's dialect and handing the SQL text to the driver's cursor removes that
overhead and stays portable: the dialect decides the SQL and the parameter style (SQLite's ``?``,
psycopg's ``%(name)s``).

Rows come back as plain tuples; SQLite returns booleans as 0/1, so callers use ``bool()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    import sqlalchemy as sa
    from sqlalchemy.engine import Dialect


class CompiledStatement:
    """One statement in the dialect's SQL, with the order its parameters go in."""

    def __init__(
        self, statement: sa.Executable, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = statement.compile(  # type: ignore[attr-defined]
            dialect=dialect, column_keys=list(column_keys) if column_keys is not None else None
        )
        self.sql: str = str(compiled)
        self._positional: bool = bool(compiled.positional)
        # Positional styles need the order; named styles get exactly the names the SQL uses.
        self._names: tuple[str, ...] = tuple(
            compiled.positiontup if compiled.positional else dict.fromkeys(compiled.bind_names.values())
        )

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        if self._positional:
            return tuple(values[name] for name in self._names)
        return {name: values[name] for name in self._names}

    def run(self, cursor: Any, values: dict[str, Any]) -> Any:
        """Execute on a DB-API cursor; returns the cursor for ``fetchone``/``fetchall``."""
        cursor.execute(self.sql, self.parameters(values))
        return cursor

    def first(self, cursor: Any, values: dict[str, Any]) -> tuple[Any, ...] | None:
        cursor.execute(self.sql, self.parameters(values))
        row = cursor.fetchone()
        return None if row is None else tuple(row)

    def all(self, cursor: Any, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        cursor.execute(self.sql, self.parameters(values))
        return [tuple(row) for row in cursor.fetchall()]
