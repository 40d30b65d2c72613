"""A sqlite cache of judge verdicts, keyed by (judge id, rubric version, prompt, response).

Re-scoring an already scored batch makes zero judge requests. WAL mode plus a busy timeout lets
several processes (lm-eval workers, GRPO ranks) read and write the same file safely; only
successful verdicts are stored, so a transient judge failure is retried next time.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from argen_tasks.models import cache_root
from argen_tasks.verdict import JudgeVerdict

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    rubric_version TEXT NOT NULL,
    verdict TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""


def default_cache_path() -> Path:
    return cache_root() / "judge-cache.sqlite"


def cache_key(judge: str, rubric_version: str, prompt: str, response: str, tier: str | None = None) -> str:
    """The tier is part of what is judged (a judge may read it); a pair without one keys as before."""
    digest = hashlib.sha256()
    for part in (judge, rubric_version, prompt, response, *([tier] if tier else [])):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


class JudgeCache:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        db = self._connection()
        db.execute("PRAGMA journal_mode=WAL")
        with db:
            db.execute(_SCHEMA)

    def get_many(self, keys: Sequence[str]) -> dict[str, JudgeVerdict]:
        found: dict[str, JudgeVerdict] = {}
        db = self._connection()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, text in db.execute(f"SELECT key, verdict FROM verdicts WHERE key IN ({marks})", chunk):
                found[key] = JudgeVerdict.model_validate_json(text)
        return found

    def put_many(self, judge: str, rubric_version: str, items: Iterable[tuple[str, JudgeVerdict]]) -> None:
        rows = [(key, judge, rubric_version, verdict.model_dump_json()) for key, verdict in items]
        if not rows:
            return
        with self._connection() as db:
            db.executemany(
                "INSERT OR REPLACE INTO verdicts (key, judge, rubric_version, verdict) VALUES (?, ?, ?, ?)", rows
            )

    def __len__(self) -> int:
        return self._connection().execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0)
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA synchronous=NORMAL")
        return db
