"""Config validation: good and bad cases together, and errors that name file, field, expected and found."""

from pathlib import Path

import pytest
import yaml

from configs import ConfigError, load_config
from configs.loader import MODELS

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
EXAMPLES = sorted(CONFIGS.glob("*.example.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_shipped_examples_are_valid(path):
    kind, model = load_config(path)
    assert kind in MODELS and model is not None


def _intersection() -> dict:
    return yaml.safe_load((CONFIGS / "intersection.example.yaml").read_text())


def _set(doc: dict, dotted: str, value) -> dict:
    cur = doc
    keys = dotted.split(".")
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    last = keys[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return doc


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phases.0.yellow_s", 2.5, r"phases\.0\.yellow_s: .*greater than or equal to 3"),
        ("phases.1.max_green_s", 8, r"max_green_s must be >= min_green_s.*max_green_s=8"),
        ("phases.0.movements", ["XX"], r"phases\[0\]\.movements: expected one of .* found 'XX'"),
        ("movements.0.approach", "up", r"movements\[0\]\.approach: expected one of .* found 'up'"),
        ("rings", [[1, 2, 3, 4], [5, 6, 7]], r"phases \[8\] are in none"),
        ("rings", [[1, 2, 3, 4, 9], [5, 6, 7, 8]], r"rings: expected phase ids .* found 9"),
        ("barriers", [42], r"barriers: expected phase ids from the rings, found 42"),
        ("phases.0.colour", "red", r"phases\.0\.colour: Extra inputs are not permitted"),
        ("movements.0.turn", "sideways", r"movements\.0\.turn: Input should be 'left', 'through'"),
        ("approaches.1.name", "north", r"approaches\[\]\.name: expected unique values, found 'north' twice"),
    ],
)
def test_bad_intersection_names_file_field_and_value(tmp_path, field, value, message):
    doc = _set(_intersection(), field, value)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: scenario\nbuiltin: single\n", None),
        ("kind: scenario\nsumocfg: nets/x.sumocfg\nseeds: [4]\n", None),
        ("kind: scenario\n", "expected exactly one of 'builtin' or 'sumocfg', found neither"),
        ("kind: scenario\nbuiltin: mars\n", "builtin: expected one of .* found 'mars'"),
        ("kind: scenario\nbuiltin: single\nseeds: [1, 1]\n", r"seeds: expected distinct values"),
        ("kind: scenario\nbuiltin: single\nbegin_s: 100\nend_s: 50\n", "end_s must be after begin_s"),
        ("kind: bridge\nurl: udp://127.0.0.1:161\ncommunity: public\n", "factory default 'public'"),
        ("kind: bridge\nurl: http://x\ncommunity: s3cret\n", r"url: .*found 'http://x'"),
        ("kind: detector\nmodel: m.onnx\ninput_size: 300\n", "input_size: expected a multiple of 32"),
        ("kind: detector\nmodel: m.onnx\nclass_map: {2: car, 9: boat}\n", r"class_map\[9\]: expected one of"),
        ("kind: controller\nmin_green_s: 30\nmax_green_s: 20\n", r"max_green_s \(20.0\) must be >= min_green_s"),
        ("kind: rocket\n", r"kind: expected one of .* found 'rocket'"),
        ("kind: scenario\nbuiltin: [unclosed\n", r"expected valid YAML, found a syntax error"),
        ("- just\n- a list\n", "expected a mapping at the top level, found list"),
    ],
)
def test_config_table(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    if message is None:
        load_config(path)
        return
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_relative_paths_resolve_against_the_config_file(tmp_path):
    sub = tmp_path / "site"
    sub.mkdir()
    (sub / "s.yaml").write_text("kind: scenario\nsumocfg: nets/x.sumocfg\n")
    _, model = load_config(sub / "s.yaml")
    assert model.sumocfg == sub.resolve() / "nets" / "x.sumocfg"


def test_missing_file():
    with pytest.raises(ConfigError, match="expected a YAML config file, found nothing"):
        load_config("/nonexistent/config.yaml")


def test_models_are_frozen():
    _, model = load_config(CONFIGS / "scenario.example.yaml")
    with pytest.raises(Exception, match="frozen"):
        model.seeds = [9]
