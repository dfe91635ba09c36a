"""The benchmark's detection metric: all-point interpolated AP at one IoU."""

from __future__ import annotations

import math

import pytest

from bench.vision import average_precision


@pytest.mark.parametrize(
    ("scores", "tps", "n_gt", "expected"),
    [
        ([0.9, 0.8], [True, True], 2, 1.0),  # everything found, nothing wrong
        ([0.9, 0.8], [True, False], 2, 0.5),  # half the objects found at precision 1
        ([0.9, 0.8], [False, True], 1, 0.5),  # found at rank 2: precision 0.5
        ([], [], 3, 0.0),
    ],
)
def test_average_precision(scores, tps, n_gt, expected) -> None:
    assert average_precision(scores, tps, n_gt) == pytest.approx(expected)


def test_average_precision_without_ground_truth_is_nan() -> None:
    assert math.isnan(average_precision([0.5], [False], 0))


def test_nothing_scored_gives_no_accuracy_rather_than_a_perfect_one() -> None:
    from bench.vision import _Acc

    s = _Acc().summary()
    assert math.isnan(s["count_accuracy"]) and math.isnan(s["queued_within_1"]) and math.isnan(s["queue_error_m"])
