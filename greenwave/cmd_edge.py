"""`greenwave edge run --config FILE`: run one intersection on an edge box (cameras -> detector -> policy -> bridge).

The config is `kind: edge` (configs/edge.example.yaml). Logs are JSON lines on stderr; metrics are Prometheus
text on the config's metrics_bind (127.0.0.1:9108 unless set). SIGTERM, SIGINT and SIGHUP stop it through the
normal path, which releases control to the controller's own plan before the process exits.
"""

from __future__ import annotations

import argparse
import logging
import threading

from configs.edge import EdgeConfig
from configs.loader import load_yaml_model
from greenwave.argtypes import seconds
from greenwave.signals import on_stop_signals

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("edge", help="edge runtime: one intersection from its cameras to its field controller")
    esub = p.add_subparsers(dest="edge_command", metavar="ACTION", required=True)
    run = esub.add_parser(
        "run", help="run an intersection until stopped (SIGTERM/SIGINT release control first)"
    )
    run.add_argument("--config", "-c", required=True, metavar="FILE", help="edge config (kind: edge)")
    run.add_argument("--metrics-bind", metavar="HOST:PORT", help="override the config's metrics_bind")
    run.add_argument(
        "--duration", type=seconds(), default=0.0, metavar="S", help="stop after S seconds (0: run until stopped)"
    )
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from greenwave.edge import EdgeRuntime  # onnxruntime, pysnmp and cv2 load only for this command
    from greenwave.edge_log import configure_json_logging

    config: EdgeConfig = load_yaml_model(args.config, EdgeConfig)
    if args.metrics_bind:
        config = config.model_copy(update={"metrics_bind": args.metrics_bind})
    handler = configure_json_logging(level=getattr(logging, args.log_level.upper()))
    stop = threading.Event()
    try:
        runtime = EdgeRuntime(config)
        with on_stop_signals(stop.set):
            if args.duration > 0:
                timer = threading.Timer(args.duration, stop.set)
                timer.daemon = True
                timer.start()
            runtime.run(stop)
    finally:
        logging.getLogger("greenwave.edge").removeHandler(handler)
    return 0
