"""The `greenwave` command line. Each command group lives in a `greenwave.cmd_*` module that adds its parser.

Exit codes: 0 success, 1 the field controller refused what was sent (`bridge plan`), 2 bad input (missing file,
invalid config, unknown controller or scenario, a value that makes no sense) reported as one line without a
traceback, 130 interrupted, 141 the reader of our output went away.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from configs.errors import GreenwaveError

__all__ = ["main"]

# OpenCV and its FFmpeg back end print their own warnings to stderr (a refused stream, an unknown video container),
# which lands among the edge runtime's JSON log lines and around our one-line errors; every such failure is already
# reported by us. A user's own setting wins.
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

# Command modules, in help order. Each defines `add_parser(subparsers)`, setting `func(args) -> int`.
COMMAND_MODULES = (
    "greenwave.cmd_sim",
    "greenwave.cmd_config",
    "greenwave.cmd_bridge",
    "greenwave.cmd_vision",
    "greenwave.cmd_edge",
)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (the full usage is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="greenwave",
        description="Open, edge-first adaptive traffic-signal control, tested in SUMO.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser




def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GreenwaveError as exc:
        print(f"greenwave: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("greenwave: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `greenwave ... | head`: the reader has gone, which is not our error to report
        with contextlib.suppress(OSError, ValueError):  # ValueError: stdout is no real file
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush does not fail again
        return 141  # what a shell reports for SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
