"""Field-controller link settings: transport URL, NTCIP address, SNMP community, timeouts."""

from __future__ import annotations

from pydantic import Field, field_validator

from configs.base import StrictModel

__all__ = ["BridgeConfig"]

_SCHEMES = ("serial", "loop", "socket", "rfc2217", "udp")


class BridgeConfig(StrictModel):
    url: str = Field(
        min_length=1,
        description="'/dev/ttyUSB0?baud=9600' (serial, PMPP), 'loop://', 'socket://h:p', 'rfc2217://h:p' or 'udp://h:p' (SNMP/IP).",
    )
    address: int = Field(default=1, ge=0, le=0x1FFF, description="PMPP (NTCIP 2101) station address.")
    community: str = Field(min_length=1, description="SNMP community with write access.")
    timeout_s: float = Field(default=0.5, gt=0, le=30)
    retries: int = Field(default=2, ge=0, le=10)
    backup_time_s: int = Field(default=10, ge=2, le=255, description="unitBackupTime written before commanding.")
    mode: str = Field(default="realtime", pattern="^(realtime|plan)$")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if url.startswith("/dev/") or url.startswith("COM"):
            return url
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in _SCHEMES:
            raise ValueError(f"expected a device path or one of {[s + '://' for s in _SCHEMES]}, found {url!r}")
        return url

    @field_validator("community")
    @classmethod
    def _not_factory_default(cls, community: str) -> str:
        if community == "public":
            raise ValueError("expected a site community string, found the factory default 'public'")
        return community
