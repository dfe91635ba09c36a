"""`greenwave config check FILE...` and `greenwave config schema [KIND]`."""

from __future__ import annotations

import argparse
import json
import sys

from configs.errors import ConfigError
from configs.loader import MODELS, load_config
from greenwave.edge_preflight import check_edge_config

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="validate config files, print JSON Schema")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = csub.add_parser("check", help="validate YAML config files (their `kind:` names the model)")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(func=_check)
    schema = csub.add_parser("schema", help="print the JSON Schema of a config kind (for editors)")
    schema.add_argument("kind", nargs="?", default="edge", choices=sorted(MODELS))
    schema.set_defaults(func=_schema)


def _check(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            kind, cfg = load_config(path)
            if kind == "edge":
                try:
                    check_edge_config(cfg)
                except ConfigError as exc:
                    raise ConfigError(f"{path}: {exc}") from exc
        except ConfigError as exc:
            print(f"FAIL {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"ok   {path} ({kind})")
    if failed:
        print(f"{failed} of {len(args.files)} config files invalid", file=sys.stderr)
        return 2
    return 0


def _schema(args: argparse.Namespace) -> int:
    schema = MODELS[args.kind].model_json_schema()
    schema.setdefault("properties", {})["kind"] = {"const": args.kind}
    print(json.dumps(schema, indent=2))
    return 0
