"""Metrics of the edge runtime in Prometheus text format, served by http.server on a local address.

`Metrics` is a small thread-safe registry of gauges, counters and windowed summaries (quantiles over the last
samples); `render()` is the text exposition format 0.0.4. `MetricsServer` answers GET /metrics with it and
GET /healthz with 200 "ok" while the intersection is under control or released on purpose, 503 otherwise
(see `EdgeRuntime.healthz`). Bound to 127.0.0.1 unless the config says otherwise; no client library needed.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from configs.errors import ConfigError

__all__ = ["EDGE_METRICS", "Metrics", "MetricsServer", "parse_bind"]

Labels = tuple[tuple[str, str], ...]
_QUANTILES = (0.5, 0.95, 0.99)

# Every series the edge runtime exports: name -> (type, help).
EDGE_METRICS: dict[str, tuple[str, str]] = {
    "greenwave_camera_frames_total": ("counter", "Frames of the camera that went through the detector."),
    "greenwave_camera_fps": ("gauge", "Frames per second of the camera through the detector, last 5 s."),
    "greenwave_camera_up": ("gauge", "1 while the camera delivers fresh, changing frames."),
    "greenwave_camera_reconnects_total": ("counter", "Times the camera was reopened after going down."),
    "greenwave_inference_seconds": ("summary", "Batched detector call over the cameras' new frames."),
    "greenwave_detector_errors_total": ("counter", "Detector calls that raised."),
    "greenwave_frame_to_command_seconds": (
        "summary",
        "Capture of the oldest frame behind a command to its send.",
    ),
    "greenwave_inputs_healthy": ("gauge", "1 while enough lanes have fresh counts to control."),
    "greenwave_lane_degraded": ("gauge", "1 when the lane is shown as a standing call (no fresh counts)."),
    "greenwave_lane_vehicles": ("gauge", "Vehicles counted in the lane's zone."),
    "greenwave_lane_queued": ("gauge", "Stopped vehicles counted in the lane's zone."),
    "greenwave_control_active": ("gauge", "1 while the runtime commands the controller."),
    "greenwave_decide_seconds": ("summary", "Policy decision and guard step."),
    "greenwave_decisions_total": ("counter", "Optimizer decisions passed through the safety guard."),
    "greenwave_stage": ("gauge", "Guard stage (index) shown or being changed to; -1 when released."),
    "greenwave_guard_overrides_total": ("counter", "Requests the safety guard refused, by reason."),
    "greenwave_releases_total": ("counter", "Times control was handed back to the controller's own plan."),
    "greenwave_bridge_up": ("gauge", "1 while the last exchange with the controller succeeded."),
    "greenwave_bridge_commanding": ("gauge", "1 while phase control may be in force at the controller."),
    "greenwave_bridge_writes_total": ("counter", "Real-time SETs sent (changes, keep-alives, releases)."),
    "greenwave_bridge_releases_total": ("counter", "Releases written by the bridge."),
    "greenwave_bridge_errors_total": ("counter", "Bridge exchanges that failed (timeouts, refusals, link)."),
    "greenwave_controller_unit_control_status": (
        "gauge",
        "NTCIP unitControlStatus read from the controller.",
    ),
    "greenwave_controller_shows_stage": ("gauge", "1 while the controller's greens are the guard's stage."),
    "greenwave_controller_green": ("gauge", "1 while the controller reports the phase green."),
    "greenwave_controller_held": ("gauge", "1 while the controller's hold bit for the phase is set."),
}


def _labels(labels: Mapping[str, object] | None) -> Labels:
    return tuple(sorted((k, str(v)) for k, v in (labels or {}).items()))


def _fmt_labels(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    body = ",".join(f'{k}="{_escape_label(v)}"' for k, v in items)
    return "{" + body + "}"


def _escape_label(value: str) -> str:
    """The exposition format's label-value escapes: backslash, double quote and line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _fmt_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class Metrics:
    """Gauges, counters and summaries by name and labels. Every method may be called from any thread."""

    def __init__(self, *, window: int = 512) -> None:
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}  # name -> (type, help)
        self._values: dict[str, dict[Labels, float]] = {}
        self._samples: dict[str, dict[Labels, deque[float]]] = {}
        self._sums: dict[str, dict[Labels, tuple[float, int]]] = {}
        self._window = window

    def describe(self, name: str, kind: str, help_: str) -> None:
        with self._lock:
            self._help[name] = (kind, help_)

    def set(self, name: str, value: float, labels: Mapping[str, object] | None = None) -> None:
        with self._lock:
            self._values.setdefault(name, {})[_labels(labels)] = float(value)

    def inc(self, name: str, amount: float = 1.0, labels: Mapping[str, object] | None = None) -> None:
        with self._lock:
            series = self._values.setdefault(name, {})
            key = _labels(labels)
            series[key] = series.get(key, 0.0) + amount

    def observe(self, name: str, value: float, labels: Mapping[str, object] | None = None) -> None:
        with self._lock:
            key = _labels(labels)
            self._samples.setdefault(name, {}).setdefault(key, deque(maxlen=self._window)).append(
                float(value)
            )
            s, n = self._sums.setdefault(name, {}).get(key, (0.0, 0))
            self._sums[name][key] = (s + value, n + 1)

    def value(self, name: str, labels: Mapping[str, object] | None = None) -> float | None:
        with self._lock:
            return self._values.get(name, {}).get(_labels(labels))

    def samples(self, name: str, labels: Mapping[str, object] | None = None) -> list[float]:
        with self._lock:
            return list(self._samples.get(name, {}).get(_labels(labels), ()))

    def render(self) -> str:
        """The Prometheus text exposition of every series."""
        with self._lock:
            names = sorted(set(self._values) | set(self._samples))
            out: list[str] = []
            for name in names:
                kind, help_ = self._help.get(name, ("untyped", ""))
                if help_:
                    out.append(f"# HELP {name} {help_}")
                out.append(f"# TYPE {name} {kind}")
                for labels, v in sorted(self._values.get(name, {}).items()):
                    out.append(f"{name}{_fmt_labels(labels)} {_fmt_value(v)}")
                for labels, window in sorted(self._samples.get(name, {}).items()):
                    ordered = sorted(window)
                    for q in _QUANTILES:
                        qv = (
                            ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
                        )
                        out.append(f"{name}{_fmt_labels(labels, (('quantile', str(q)),))} {_fmt_value(qv)}")
                    s, n = self._sums[name][labels]
                    out.append(f"{name}_sum{_fmt_labels(labels)} {_fmt_value(s)}")
                    out.append(f"{name}_count{_fmt_labels(labels)} {n}")
            return "\n".join(out) + "\n"


def parse_bind(bind: str) -> tuple[str, int]:
    """'127.0.0.1:9108' -> ('127.0.0.1', 9108); '[::1]:9108' works too.

    Raises:
        ConfigError: not HOST:PORT with a port 0..65535.
    """
    host, sep, port = bind.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"metrics_bind: expected HOST:PORT such as 127.0.0.1:9108, found {bind!r}")
    return host, int(port)


class MetricsServer:
    """GET /metrics (Prometheus text) and GET /healthz on a ThreadingHTTPServer in a daemon thread."""

    def __init__(self, metrics: Metrics, bind: str, healthz: Callable[[], tuple[bool, str]]) -> None:
        host, port = parse_bind(bind)
        metrics_ref, healthz_ref = metrics, healthz

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path.split("?")[0] == "/metrics":
                    body, code = metrics_ref.render().encode(), 200
                    ctype = "text/plain; version=0.0.4; charset=utf-8"
                elif self.path.split("?")[0] == "/healthz":
                    ok, text = healthz_ref()
                    body, code, ctype = (
                        (text + "\n").encode(),
                        200 if ok else 503,
                        "text/plain; charset=utf-8",
                    )
                else:
                    body, code, ctype = b"not found: try /metrics or /healthz\n", 404, "text/plain"
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - scrapes are not news
                return

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise ConfigError(
                f"metrics_bind: expected a free local address, found {bind!r} unusable ({exc})"
            ) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
