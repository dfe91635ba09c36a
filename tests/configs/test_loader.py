"""Loading one model from a YAML file: the `kind:` key, when present, must name that model."""

from __future__ import annotations

import pytest

from configs.controller import ControllerParams
from configs.errors import ConfigError
from configs.loader import load_yaml_model


def test_a_file_of_another_kind_is_refused_where_one_model_is_expected(tmp_path) -> None:
    (tmp_path / "p.yaml").write_text("kind: camera\nmin_green_s: 6\n")  # valid controller fields, wrong kind
    with pytest.raises(ConfigError, match="kind: expected 'controller' here, found 'camera'"):
        load_yaml_model(tmp_path / "p.yaml", ControllerParams)
    (tmp_path / "p.yaml").write_text("kind: controller\nmin_green_s: 6\n")
    assert load_yaml_model(tmp_path / "p.yaml", ControllerParams).min_green_s == 6
