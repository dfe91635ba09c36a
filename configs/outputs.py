"""Output paths a user names on the command line: checked before any work, written so a failure loses nothing.

Shared by `sim compare --json/--report` and `detect --csv`. A file is written next to its target as `NAME.tmp` and
renamed over it only once complete, so yesterday's results survive a run that fails or is refused.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from configs.errors import ConfigError

__all__ = ["check_output_dir", "check_output_file", "replacing", "write_atomic"]


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def check_output_file(flag: str, path: Path) -> None:
    """Refuse, before any work, a target that cannot be written: a folder, under a file, or in a read-only place."""
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: expected a file path, found a folder")
    check_output_dir(flag, path.parent)
    if path.parent.is_dir():  # try it: permission bits do not tell for root, /proc or a read-only mount
        try:
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
                pass
        except OSError as exc:
            raise ConfigError(
                f"{flag} {path}: expected a writable file, found no file can be created in {path.parent}"
                f" ({exc.strerror or exc})"
            ) from None


def check_output_dir(flag: str, folder: Path) -> None:
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"{flag}: expected a folder at {existing}, found a file")
    if existing is not None and not os.access(existing, os.W_OK):
        raise ConfigError(f"{flag}: expected a writable folder at {existing}, found it read-only")


def write_atomic(path: Path, text: str) -> None:
    with replacing(path) as f:
        f.write(text + "\n")


@contextmanager
def replacing(path: Path, *, keep_partial_on: tuple[type[BaseException], ...] = ()) -> Iterator[IO[str]]:
    """A text file that replaces `path` when the block ends.

    If the block raises, the target is left as it was, unless the exception is one of `keep_partial_on` (e.g.
    KeyboardInterrupt for a count stopped by the operator): then what was written so far replaces it.
    """
    tmp = _tmp(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = tmp.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: expected a writable file, found {exc.strerror or exc}") from None
    try:
        yield f
    except keep_partial_on:
        _finish(f, tmp, path)
        raise
    except BaseException:
        f.close()
        tmp.unlink(missing_ok=True)
        raise
    _finish(f, tmp, path)


def _finish(f: IO[str], tmp: Path, path: Path) -> None:
    try:
        f.close()
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"{path}: expected a writable file, found {exc.strerror or exc}") from None
