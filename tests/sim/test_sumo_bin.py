import sys

import pytest

from sim import sumo_bin
from sim.errors import SumoNotFoundError


def test_binaries_come_from_the_wheel():
    path = sumo_bin.sumo_binary("netconvert")
    assert "site-packages" in path or "dist-packages" in path
    assert path.endswith("netconvert")


def test_missing_wheel_is_a_clear_error(monkeypatch):
    sumo_bin.sumo_home.cache_clear()
    monkeypatch.setitem(sys.modules, "sumo", None)  # makes `import sumo` raise ImportError
    try:
        with pytest.raises(SumoNotFoundError, match="expected the 'eclipse-sumo' Python package"):
            sumo_bin.sumo_binary("sumo")
    finally:
        sumo_bin.sumo_home.cache_clear()


def test_missing_executable_names_the_path():
    with pytest.raises(SumoNotFoundError, match="expected the executable .*no-such-tool"):
        sumo_bin.sumo_binary("no-such-tool")
