"""Validated user input: pydantic v2 models for intersections, cameras, detectors, bridges and scenarios.

Only this package uses pydantic. Models are frozen and forbid unknown keys; loading errors name the file, the
field path, what was expected and what was found.
"""

from configs.errors import ConfigError, GreenwaveError
from configs.loader import MODELS, load_config, load_yaml_model
from configs.models import (
    ApproachConfig,
    BridgeConfig,
    CameraConfig,
    ControllerParams,
    DetectorConfig,
    EdgeConfig,
    IntersectionConfig,
    LaneConfig,
    MovementConfig,
    PhaseConfig,
    ScenarioConfig,
)

__all__ = [
    "MODELS",
    "ApproachConfig",
    "BridgeConfig",
    "CameraConfig",
    "ConfigError",
    "ControllerParams",
    "DetectorConfig",
    "EdgeConfig",
    "GreenwaveError",
    "IntersectionConfig",
    "LaneConfig",
    "MovementConfig",
    "PhaseConfig",
    "ScenarioConfig",
    "load_config",
    "load_yaml_model",
]
