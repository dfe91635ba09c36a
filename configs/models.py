"""One import place for every config model."""

from configs.bridge import BridgeConfig
from configs.controller import ControllerParams
from configs.edge import EdgeConfig
from configs.intersection import ApproachConfig, IntersectionConfig, LaneConfig, MovementConfig, PhaseConfig
from configs.scenario import ScenarioConfig
from configs.vision import CameraConfig, DetectorConfig

__all__ = [
    "ApproachConfig",
    "BridgeConfig",
    "CameraConfig",
    "ControllerParams",
    "DetectorConfig",
    "EdgeConfig",
    "IntersectionConfig",
    "LaneConfig",
    "MovementConfig",
    "PhaseConfig",
    "ScenarioConfig",
]
