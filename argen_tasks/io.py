"""Atomic output: a crash or Ctrl-C never leaves a half-written results file.

Files and directories get the permissions any other program's would (the umask's), not the
private ones of the temporary files they are staged in.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


class OutputError(ValueError):
    """An output path that cannot be written; raised before any work is spent on what would go there."""


def check_writable(path: Path, flag: str, *, directory: bool = False) -> None:
    """Fail now, naming ``flag``, if ``path`` (a file, or with ``directory`` a directory) could not be
    written later. Creates nothing: the probe is an anonymous temporary file in the nearest existing
    ancestor."""
    advice = f"choose another {flag}"
    if path.exists() and path.is_dir() != directory:
        kind = "a directory" if path.is_dir() else "a file"
        raise OutputError(f"{flag} {path}: is {kind}, not {'a directory' if directory else 'a file'}; {advice}")
    ancestor = path if directory and path.is_dir() else path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{flag} {path}: {ancestor} is a file, so nothing can be created under it; {advice}")
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as exc:
        raise OutputError(f"{flag} {path}: cannot write in {ancestor} ({exc.strerror}); {advice}") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_jsonl_atomic(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def write_json_atomic(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def build_dir_atomic(target: Path, build: Callable[[Path], None]) -> Path:
    """``target``, built by ``build(staging_dir)`` unless it exists: a concurrent or interrupted
    first use sees the whole directory or none of it."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        staging.chmod(0o777 & ~_umask())
        build(staging)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
