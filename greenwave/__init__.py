"""Greenwave's wiring place: the `greenwave` CLI and the edge runtime that connect the pure packages
(configs, controller, vision) to the adapters (sim, firmware_bridge)."""

__version__ = "0.1.0"
