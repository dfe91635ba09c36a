"""Field-controller bridge: NTCIP 1202 objects over SNMP, on serial lines (NTCIP 2101 PMPP) or UDP.

    pmpp       PMPP framing and the streaming deframer (pure, bytes in / frames out)
    snmp       SNMP v1/v2c messages as plain values, via pysnmp's protocol API and pyasn1 BER
    ntcip      the NTCIP 1202 objects used: OIDs, index shapes, units (tenths of a second), masks
    transport  links chosen by URL (device?baud=, loop://, socket://, rfc2217://, udp://)
    client     request ids, timeouts, retries with backoff, SNMP errors -> BridgeRejected
    realtime   hold / force-off / call / omit kept alive inside unitBackupTime, and release
    plan       pattern + split download (dbCreateTransaction where supported), read-back, reject report
    bridge     FieldBridge: one controller from a BridgeConfig; leaving it always releases control
    emulator/  the virtual NTCIP 1202 controller (timing, database, agent, serial/UDP loop)
    fakes      in-memory link to an in-process virtual controller, with an injected clock
    ptywire    a pty-pair null-modem cable with baud pacing and fault injection (tests, benchmarks)

Importing the package imports nothing else; errors are in `firmware_bridge.errors` (`BridgeError` tree).
"""
