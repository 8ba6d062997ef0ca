"""Every live session, indexed by dialect and by (dialect, API key).

Used for per-key connection caps (Infoway 512), connection gauges, the liveness sweeper, kicking
a blocked key's connections, and closing everything on shutdown. Sessions are added once the
upgrade succeeds and removed when their receive loop ends (`serve_session` does both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .session import Session

#: Whether (dialect, key) is blocked right now.
BlockedCheck = Callable[[str, str], bool]


class SessionRegistry:
    __slots__ = ("_by_dialect", "_by_key", "blocked_close", "is_blocked")

    def __init__(self) -> None:
        # dicts used as insertion-ordered sets
        self._by_dialect: dict[str, dict[Session, None]] = {}
        self._by_key: dict[tuple[str, str], dict[Session, None]] = {}
        #: Each dialect's close code and reason for a blocked key's connections (its registration).
        self.blocked_close: dict[str, tuple[int, str]] = {}
        #: Set by the server to its key guards; None: no key is ever blocked.
        self.is_blocked: BlockedCheck | None = None

    def add(self, session: Session) -> None:
        self._by_dialect.setdefault(session.dialect, {})[session] = None
        if session.key is not None:
            self._by_key.setdefault((session.dialect, session.key), {})[session] = None

    def assign_key(self, session: Session, key: str) -> bool:
        """Record the key a live session authenticated with after it opened (DigiFinex's
        `server.auth`), so that `for_key` and `close_key` reach it. A blocked key's session is
        closed with its dialect's code at once; False then."""
        if session in self and session.key is not None:
            keyed = self._by_key.get((session.dialect, session.key))
            if keyed is not None:
                keyed.pop(session, None)
                if not keyed:
                    del self._by_key[(session.dialect, session.key)]
        session.key = key
        if session in self:
            self._by_key.setdefault((session.dialect, key), {})[session] = None
        if self.is_blocked is not None and self.is_blocked(session.dialect, key):
            code, reason = self.blocked_close.get(session.dialect, (1008, "API key blocked"))
            session.close(code, reason)
            return False
        return True

    def remove(self, session: Session) -> bool:
        group = self._by_dialect.get(session.dialect)
        if group is None or session not in group:
            return False
        del group[session]
        if not group:
            del self._by_dialect[session.dialect]
        if session.key is not None:
            index = (session.dialect, session.key)
            keyed = self._by_key.get(index)
            if keyed is not None:
                keyed.pop(session, None)
                if not keyed:
                    del self._by_key[index]
        return True

    def sessions(self, dialect: str | None = None) -> list[Session]:
        """A snapshot of the live sessions, of one dialect or all."""
        if dialect is not None:
            return list(self._by_dialect.get(dialect, ()))
        return [s for group in self._by_dialect.values() for s in group]

    def for_key(self, dialect: str, key: str) -> list[Session]:
        return list(self._by_key.get((dialect, key), ()))

    def count(self, dialect: str | None = None) -> int:
        if dialect is not None:
            return len(self._by_dialect.get(dialect, ()))
        return sum(len(group) for group in self._by_dialect.values())

    def count_for_key(self, dialect: str, key: str) -> int:
        return len(self._by_key.get((dialect, key), ()))

    def counts(self) -> dict[str, int]:
        """Live sessions per dialect (feeds the connections gauge)."""
        return {dialect: len(group) for dialect, group in self._by_dialect.items()}

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Session]:
        return iter(self.sessions())

    def __contains__(self, session: object) -> bool:
        return isinstance(session, Session) and session in self._by_dialect.get(session.dialect, ())

    def close_key(self, dialect: str, key: str, code: int = 1008, message: str = "") -> int:
        """Start closing every session of one key (e.g. after an operator blocks it)."""
        sessions = self.for_key(dialect, key)
        for session in sessions:
            session.close(code, message)
        return len(sessions)

    def close_blocked_key(self, dialect: str, key: str) -> int:
        """Close every session of a key just blocked on `dialect`, with the dialect's own code."""
        code, reason = self.blocked_close.get(dialect, (1008, "API key blocked"))
        return self.close_key(dialect, key, code, reason)

    def close_all(self, code: int = 1001, message: str = "server shutting down") -> int:
        """Start closing every session (graceful shutdown); 1001 = going away."""
        sessions = self.sessions()
        for session in sessions:
            session.close(code, message)
        return len(sessions)
