"""Everything one edge box needs to run one intersection: geometry, cameras, detector, bridge, policy."""

from __future__ import annotations

from pydantic import Field, model_validator

from configs.base import StrictModel
from configs.bridge import BridgeConfig
from configs.controller import ControllerParams
from configs.intersection import IntersectionConfig
from configs.vision import CameraConfig, DetectorConfig

__all__ = ["EdgeConfig"]


class EdgeConfig(StrictModel):
    intersection: IntersectionConfig
    cameras: list[CameraConfig] = Field(default_factory=list)
    detector: DetectorConfig | None = None
    bridge: BridgeConfig | None = None
    controller: ControllerParams = Field(default_factory=ControllerParams)
    policy: str = Field(default="adaptive", description="Controller name, e.g. 'adaptive' or 'max-pressure'.")
    metrics_bind: str = Field(default="127.0.0.1:9108", description="host:port of the Prometheus endpoint.")

    @model_validator(mode="after")
    def _lanes_exist(self) -> EdgeConfig:
        lanes = {lane.id for a in self.intersection.approaches for lane in a.lanes}
        lanes |= {lane.sumo_lane for a in self.intersection.approaches for lane in a.lanes if lane.sumo_lane}
        for ci, cam in enumerate(self.cameras):
            for zi, zone in enumerate(cam.lanes):
                if zone.lane not in lanes:
                    raise ValueError(
                        f"cameras[{ci}].lanes[{zi}].lane: expected a lane of the intersection {sorted(lanes)}, "
                        f"found {zone.lane!r}"
                    )
        if self.bridge is not None:
            beyond = sorted(p.id for p in self.intersection.phases if p.id > 8)
            if beyond:
                raise ValueError(
                    f"intersection.phases[].id: expected 1-8 with a bridge (phase control group 1 is what it commands),"
                    f" found {beyond}"
                )
        if self.cameras and self.detector is None:
            raise ValueError("detector: expected a detector config because cameras are configured, found none")
        return self
