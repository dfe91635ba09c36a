"""A SET whose reply never comes back may still have taken effect: control counts as held until released."""

import pytest

from firmware_bridge.errors import BridgeTimeout
from firmware_bridge.realtime import PhaseCommand, RealtimeCommander


class _Controller:
    """Applies every SET it receives; can be told to lose the reply (the write still lands)."""

    def __init__(self) -> None:
        self.writes: list[list] = []
        self.lose_reply = False

    def set(self, pairs, retries=None):
        self.writes.append(list(pairs))
        if self.lose_reply:
            raise BridgeTimeout("no reply")

    def get(self, oids):
        return [10 for _ in oids]  # unitBackupTime read-back


def test_lost_reply_still_counts_as_held_and_is_released():
    ctl = _Controller()
    rt = RealtimeCommander(ctl, backup_time_s=10)
    rt.start()
    ctl.lose_reply = True
    with pytest.raises(BridgeTimeout, match="release not confirmed"):
        rt.step(0.0, PhaseCommand(hold=frozenset({2})))
    assert len(ctl.writes) == 3  # backup time, the hold, the release attempt
    # neither the hold nor the release was confirmed: control may still be held, so it is not assumed released
    assert rt.active
    ctl.lose_reply = False
    assert rt.step(1.0, None)  # the line is back: the next no-command step releases again
    assert ctl.writes[-1] == [(oid, 0) for oid, _v in ctl.writes[-1]] and not rt.active
    assert not rt.step(2.0, None)  # and only once


def test_interrupted_send_leaves_control_marked_active():
    class _Interrupt(Exception):
        pass

    class _Cut(_Controller):
        def set(self, pairs, retries=None):
            self.writes.append(list(pairs))
            raise _Interrupt  # e.g. the process is stopped while waiting for the reply

    ctl = _Cut()
    rt = RealtimeCommander(ctl, backup_time_s=10)
    rt._started = True
    with pytest.raises(_Interrupt):
        rt.step(0.0, PhaseCommand(hold=frozenset({2})))
    assert rt.active  # so close() will release
