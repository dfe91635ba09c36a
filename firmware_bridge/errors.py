"""The bridge's exception tree; third-party errors (pyserial, socket, pyasn1) are translated into it.

GreenwaveError (configs.errors)
└── BridgeError               anything the bridge raises on purpose
    ├── BridgeUrlError        a transport URL that cannot be opened as written
    ├── BridgeLinkError       the serial port / socket failed (open, read, write)
    │   └── BridgeTimeout     no valid reply within timeout x (retries + 1)
    ├── BridgeProtocolError   bytes that are not a valid PMPP frame or SNMP message
    ├── BridgeRejected        the controller answered with an SNMP error (names the object and value)
    └── BridgeVerifyError     read-back after a download differs from what was written
"""

from __future__ import annotations

from configs.errors import GreenwaveError

__all__ = [
    "BridgeError",
    "BridgeLinkError",
    "BridgeProtocolError",
    "BridgeRejected",
    "BridgeTimeout",
    "BridgeUrlError",
    "BridgeVerifyError",
]


class BridgeError(GreenwaveError):
    """Base of firmware_bridge/ errors."""


class BridgeUrlError(BridgeError):
    """A transport URL with an unknown scheme or bad parameters."""


class BridgeLinkError(BridgeError):
    """The link itself failed: the port cannot be opened, read or written."""


class BridgeTimeout(BridgeLinkError):
    """The controller did not answer in time, after every retry."""


class BridgeProtocolError(BridgeError):
    """Bytes that do not decode as a PMPP frame or an SNMP message."""


class BridgeRejected(BridgeError):
    """The controller answered a request with an SNMP error status."""

    def __init__(self, message: str, *, error_status: int, error_index: int) -> None:
        super().__init__(message)
        self.error_status = error_status
        self.error_index = error_index


class BridgeVerifyError(BridgeError):
    """Values read back after a write differ from the values written."""
