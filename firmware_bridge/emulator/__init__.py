"""The virtual NTCIP 1202 controller: `timing` (actuated dual-ring, pure), `database` (stored objects and write
checks, pure), `controller` (SNMP agent + backup timer, pure), `server` (serial/UDP I/O loop)."""
