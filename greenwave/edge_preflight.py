"""What `greenwave edge run` checks in a config before it starts, beyond the config model itself.

The config models (configs/) check shape and ranges; these checks need the runtime's own parsers and registry: the
policy name, the metrics bind address and the bridge URL (scheme, port, baud). `greenwave config check` runs them
too, so a config that passes the check does not fail at start-up for any of these reasons.
"""

from __future__ import annotations

from configs.edge import EdgeConfig
from configs.errors import ConfigError
from controller.errors import UnknownControllerError
from controller.registry import NATIVE_CONTROLLERS, get_factory
from firmware_bridge.errors import BridgeUrlError
from firmware_bridge.transport import check_url
from greenwave.edge_metrics import parse_bind

__all__ = ["check_edge_config"]


def check_edge_config(config: EdgeConfig) -> None:
    """Raises ConfigError (one line, naming the field) for the first problem found."""
    if config.policy in NATIVE_CONTROLLERS:
        raise ConfigError(
            f"policy: expected an edge policy (not the controller's own {config.policy!r}), found {config.policy!r}"
        )
    try:
        get_factory(config.policy)
    except UnknownControllerError as exc:
        raise ConfigError(f"policy: {exc}") from exc
    parse_bind(config.metrics_bind)
    if config.bridge is not None:
        try:
            check_url(config.bridge.url)
        except BridgeUrlError as exc:
            raise ConfigError(f"bridge.url: {exc}") from exc
