"""Model monitoring's metrics against independent computations: scipy and numpy called directly on
the same arrays, and cases worked out by hand (constant columns, empty windows, all-null columns,
unseen categories)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import distance
from scipy.stats import chisquare, ks_2samp, wasserstein_distance

from accelerator.local._monitoring import _metrics as m
from accelerator.local._monitoring._metrics import MonitoringComputationError


@pytest.fixture
def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.normal(10, 2, 500), rng.normal(11, 2.5, 300)


def test_sturges_bins_count_the_smaller_dataset() -> None:
    assert m.sturges_bins(100, 1000) == 8  # ceil(log2(100) + 1) = ceil(7.64)
    assert m.sturges_bins(1000, 64) == 7  # log2(64) + 1 = 7 exactly
    assert m.sturges_bins(1, 5) == 1
    with pytest.raises(MonitoringComputationError, match="at least one row"):
        m.sturges_bins(0, 10)


def test_histogram_counts_as_spark_does() -> None:
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    values = np.array([0.0, 0.5, 1.0, 2.9, 3.0, 3.1, -1.0])
    # [0, 1) has 0 and 0.5; [1, 2) has 1; the last bin [2, 3] is closed; 3.1 and -1 are dropped.
    assert m.histogram(values, edges).tolist() == [2, 1, 2]
    uneven = np.array([0.0, 1.0, 5.0])
    assert m.histogram(np.array([0.5, 1.0, 4.0, 5.0]), uneven).tolist() == [1, 3]


def test_constant_columns_get_one_bin_of_half_a_percent() -> None:
    assert m.bin_edges(np.array([5.0, 5.0]), np.array([5.0]), 3).tolist() == [4.975, 5.025]
    assert m.bin_edges(np.array([0.0]), np.array([0.0]), 3).tolist() == [-0.005, 0.005]
    same = np.full(20, 5.0)
    assert m.jensen_shannon_numerical(same, same) == 0.0
    assert m.psi_numerical(same, same) == 0.0
    # Wasserstein distance 1, baseline stddev 0 floored at 0.001.
    assert m.normalized_wasserstein(same, np.full(10, 6.0)) == pytest.approx(1000.0)


def test_jensen_shannon_numerical_matches_scipy(samples: tuple[np.ndarray, np.ndarray]) -> None:
    baseline, production = samples
    bins = math.ceil(math.log2(len(production)) + 1)
    low, high = min(baseline.min(), production.min()), max(baseline.max(), production.max())
    p, _ = np.histogram(baseline, bins=bins, range=(low, high))
    q, _ = np.histogram(production, bins=bins, range=(low, high))
    expected = distance.jensenshannon(p / p.sum(), q / q.sum(), base=2)
    assert m.jensen_shannon_numerical(baseline, production) == pytest.approx(expected, abs=1e-9)
    assert m.jensen_shannon_numerical(baseline, baseline) == 0.0


def test_normalized_wasserstein_matches_scipy(samples: tuple[np.ndarray, np.ndarray]) -> None:
    baseline, production = samples
    expected = wasserstein_distance(baseline, production) / np.std(baseline, ddof=1)
    assert m.normalized_wasserstein(baseline, production) == pytest.approx(expected, rel=1e-12)


def test_psi_numerical_matches_a_hand_computation() -> None:
    baseline = np.array([0.0, 0.0, 1.0, 2.0])
    production = np.array([2.0, 2.0, 2.0, 0.0])
    # 3 bins (ceil(log2(4) + 1)) over [0, 2]: baseline counts [2, 1, 1], production [1, 0, 3].
    b = (np.array([2, 1, 1]) + 1) / (4 + 3)
    p = (np.array([1, 0, 3]) + 1) / (4 + 3)
    assert m.psi_numerical(baseline, production) == pytest.approx(float(np.sum((p - b) * np.log(p / b))))


def test_ks_matches_scipy_and_is_refused_from_ten_thousand_rows(
    samples: tuple[np.ndarray, np.ndarray],
) -> None:
    baseline, production = samples
    assert m.ks_pvalue(baseline, production) == pytest.approx(ks_2samp(baseline, production).pvalue)
    with pytest.raises(MonitoringComputationError, match="more than 10000 entries"):
        m.ks_pvalue(np.zeros(10_000), production)


def test_categorical_jensen_shannon_by_hand_and_with_unseen_categories() -> None:
    baseline = pd.Series(["a", "a", "b", "b"])
    # p = [.5, .5], q = [1, 0], m = [.75, .25]: KL(p||m) = 0.2075, KL(q||m) = 0.4150 (bits).
    kl_p = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    kl_q = math.log2(1 / 0.75)
    expected = math.sqrt((kl_p + kl_q) / 2)
    assert m.jensen_shannon_categorical(baseline, pd.Series(["a"] * 4)) == pytest.approx(expected)
    # A category the baseline never saw: disjoint distributions are 1 apart.
    assert m.jensen_shannon_categorical(pd.Series(["a"]), pd.Series(["z"])) == pytest.approx(1.0)


def test_categorical_psi_and_chi_squared() -> None:
    baseline = pd.Series(["a"] * 6 + ["b"] * 4)
    production = pd.Series(["a"] * 3 + ["b"] * 5 + ["c"] * 2)
    keys = ["a", "b", "c"]
    base = np.array([6, 4, 0])
    prod = np.array([3, 5, 2])
    b = (base + 1) / (10 + 3)
    p = (prod + 1) / (10 + 3)
    assert m.psi_categorical(baseline, production) == pytest.approx(float(np.sum((p - b) * np.log(p / b))))
    seen = pd.Series(["a"] * 5 + ["b"] * 5)
    expected = chisquare([5, 5], [6, 4]).pvalue
    assert m.chi_squared_pvalue(baseline, seen) == pytest.approx(expected)
    # An unseen category has an expected count of 0: the statistic is infinite, the p-value 0.
    assert m.chi_squared_pvalue(baseline, production) == 0.0
    assert keys == sorted(set(baseline) | set(production))


def test_column_typing_follows_the_service() -> None:
    frame = pd.DataFrame(
        {
            "distance": np.linspace(0, 1, 100),
            "passengers": np.arange(100) % 3,  # 3% distinct: categorical
            "minute": np.arange(100),  # all distinct: numerical
            "vendor": ["v1", "v2"] * 50,
            "store_forward": [True, False] * 50,
        }
    )
    columns = m.common_columns(frame, frame)
    assert columns["passengers"] == "long" and columns["distance"] == "double"
    numerical, categorical = m.column_types(frame, columns)
    assert numerical == ["distance", "minute"]
    assert categorical == ["passengers", "vendor", "store_forward"]
    overrides = {"passengers": "numerical", "minute": "categorical"}
    numerical, categorical = m.column_types(frame, columns, overrides)
    assert "passengers" in numerical and "minute" in categorical
    with pytest.raises(MonitoringComputationError, match="no common columns"):
        m.common_columns(frame, pd.DataFrame({"other": [1.0]}))


def test_drift_metrics_rows_thresholds_and_breach_on_the_drifted_feature_only() -> None:
    rng = np.random.default_rng(3)
    baseline = pd.DataFrame({"distance": rng.gamma(2, 1, 2000), "vendor": rng.choice(["1", "2"], 2000)})
    production = pd.DataFrame({"distance": rng.gamma(2, 1, 800) * 1.6, "vendor": rng.choice(["1", "2"], 800)})
    rows = m.drift_metrics(
        baseline,
        production,
        numerical_metric=m.NORMALIZED_WASSERSTEIN,
        numerical_threshold=0.1,
        categorical_metric=m.JENSEN_SHANNON,
        categorical_threshold=0.1,
    )
    by_group = {(r.group, r.metric_name): r for r in rows}
    distance_row = by_group[("distance", m.NORMALIZED_WASSERSTEIN)]
    assert distance_row.breached and distance_row.data_type == "Numerical"
    assert distance_row.metric_value == pytest.approx(
        wasserstein_distance(baseline["distance"], production["distance"]) / baseline["distance"].std()
    )
    assert not by_group[("vendor", m.JENSEN_SHANNON)].breached
    assert by_group[("", "BaselineRowCount")].metric_value == 2000
    assert by_group[("", "TargetRowCount")].metric_value == 800


def test_drift_refuses_empty_windows_and_all_null_columns() -> None:
    baseline = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    kwargs = {
        "numerical_metric": m.NORMALIZED_WASSERSTEIN,
        "numerical_threshold": 0.1,
        "categorical_metric": m.JENSEN_SHANNON,
        "categorical_threshold": 0.1,
    }
    with pytest.raises(MonitoringComputationError, match="production data has no rows"):
        m.drift_metrics(baseline, pd.DataFrame({"x": pd.Series([], dtype=float)}), **kwargs)
    with pytest.raises(MonitoringComputationError, match="production data has no rows"):
        m.drift_metrics(baseline, pd.DataFrame({"x": [np.nan, np.nan]}), **kwargs)
    with pytest.raises(MonitoringComputationError, match="Invalid metric"):
        m.drift_metrics(baseline, baseline, **{**kwargs, "numerical_metric": m.CHI_SQUARED})


def test_quality_rates_against_the_baseline_statistics() -> None:
    baseline = pd.DataFrame({"distance": [1.0, 2.0, 3.0, 4.0], "vendor": ["1", "2", "1", "2"]})
    production = pd.DataFrame(
        {
            # one null; 10.0 above the baseline's max, -1 below its min; "far" is no number.
            "distance": pd.Series([np.nan, 10.0, -1.0, 2.0, "far"], dtype=object),
            # one unseen vendor ("3"), one null (imputed with the mode "1", so in bounds).
            "vendor": ["1", "3", None, "2", "1"],
        }
    )
    zero = {m.NULL_VALUE_RATE: 0.0, m.DATA_TYPE_ERROR_RATE: 0.0, m.OUT_OF_BOUNDS_RATE: 0.0}
    rows = m.quality_metrics(baseline, production, numerical_thresholds=zero, categorical_thresholds=zero)
    values = {(r.group, r.metric_name): r.metric_value for r in rows}
    assert values[("distance", m.NULL_VALUE_RATE)] == 0.2
    assert values[("distance", m.DATA_TYPE_ERROR_RATE)] == 0.2
    assert values[("distance", m.OUT_OF_BOUNDS_RATE)] == 0.4
    assert values[("vendor", m.NULL_VALUE_RATE)] == 0.2
    assert values[("vendor", m.OUT_OF_BOUNDS_RATE)] == 0.2
    assert values[("", "RowCount")] == 5
    assert all(r.breached for r in rows if r.metric_value > 0 and r.group)


def test_quality_of_an_all_null_column_and_rounding() -> None:
    baseline = pd.DataFrame({"tip": [1.0, 2.0, 3.0]})
    production = pd.DataFrame({"tip": [np.nan] * 3})
    rows = m.quality_metrics(
        baseline, production, numerical_thresholds={m.NULL_VALUE_RATE: 0.5}, categorical_thresholds={}
    )
    null = next(r for r in rows if r.metric_name == m.NULL_VALUE_RATE)
    assert null.metric_value == 1.0 and null.breached
    one_null = pd.DataFrame({"tip": [np.nan, 1.0, 1.0]})
    rows = m.quality_metrics(baseline, one_null, numerical_thresholds={}, categorical_thresholds={})
    assert next(r for r in rows if r.metric_name == m.NULL_VALUE_RATE).metric_value == 0.33333
    with pytest.raises(MonitoringComputationError, match="no rows"):
        m.quality_metrics(baseline, production.iloc[:0], numerical_thresholds={}, categorical_thresholds={})


def test_regression_metrics_match_numpy() -> None:
    actual = np.array([10.0, 12.0, 8.0, 20.0])
    predicted = np.array([11.0, 12.0, 5.0, 24.0])
    values = m.regression_metrics(actual, predicted)
    assert values[m.MEAN_ABSOLUTE_ERROR] == pytest.approx(2.0)  # (1 + 0 + 3 + 4) / 4
    assert values[m.MEAN_SQUARED_ERROR] == pytest.approx(6.5)  # (1 + 0 + 9 + 16) / 4
    assert values[m.ROOT_MEAN_SQUARED_ERROR] == pytest.approx(math.sqrt(6.5))
    with pytest.raises(MonitoringComputationError, match="empty data asset"):
        m.regression_metrics(np.array([]), np.array([]))


def test_breach_direction() -> None:
    assert m.breached(m.NORMALIZED_WASSERSTEIN, 0.2, 0.1)
    assert not m.breached(m.NORMALIZED_WASSERSTEIN, 0.1, 0.1)
    assert m.breached(m.KOLMOGOROV_SMIRNOV, 0.01, 0.05)  # a p-value breaches below
    assert not m.breached(m.CHI_SQUARED, 0.5, 0.05)
    assert m.breached(m.NULL_VALUE_RATE, 0.00001, 0.0)
    assert not m.breached(m.ROOT_MEAN_SQUARED_ERROR, 3.0, None)
    assert not m.breached(m.JENSEN_SHANNON, float("nan"), 0.1)
