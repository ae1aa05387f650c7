"""Azure ML model monitoring's metrics, computed as the service computes them, on pandas and numpy.

Pure numeric code: no store, no SDK. Each function follows the service's own monitoring
components, published in Azure/azureml-assets under ``assets/model_monitoring/components/src/``
(Spark there, pandas here; the same formulas, bins and edge cases):

- column typing: ``shared_utilities/df_utils.py`` (``get_common_columns``, ``is_categorical``:
  strings, booleans, dates are categorical; floats numerical; integers categorical when fewer
  than 5% of their values are distinct);
- histograms: ``shared_utilities/histogram_utils.py`` (Sturges' number of bins on the smaller
  dataset, equal-width bins over both datasets' range, one bin of +-0.5% for a constant column)
  counted as Spark's ``RDD.histogram`` counts (the last bin closed, values outside dropped);
- drift: ``data_drift_compute_metrics/numerical_data_drift_metrics.py`` and
  ``categorical_data_drift_metrics.py`` (Jensen-Shannon distance in base 2, Wasserstein distance
  over the baseline's sample standard deviation floored at 0.001, PSI with Laplace smoothing,
  two-sample Kolmogorov-Smirnov and Pearson's chi-squared p-values);
- data quality: ``data_quality_statistics`` and ``data_quality_compute_metrics`` (null, data
  type error and out-of-bounds rates, rounded to 5 decimals, against the baseline's statistics);
- breach: ``model_monitor_evaluate_metrics_threshold/evaluate_metrics_threshold.py`` (p-values
  breach below their threshold, every other metric above it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import distance
from scipy.stats import chisquare, ks_2samp, wasserstein_distance

JENSEN_SHANNON = "JensenShannonDistance"
NORMALIZED_WASSERSTEIN = "NormalizedWassersteinDistance"
PSI = "PopulationStabilityIndex"
KOLMOGOROV_SMIRNOV = "TwoSampleKolmogorovSmirnovTest"
CHI_SQUARED = "PearsonsChiSquaredTest"
NULL_VALUE_RATE = "NullValueRate"
DATA_TYPE_ERROR_RATE = "DataTypeErrorRate"
OUT_OF_BOUNDS_RATE = "OutOfBoundsRate"
MEAN_ABSOLUTE_ERROR = "MeanAbsoluteError"
MEAN_SQUARED_ERROR = "MeanSquaredError"
ROOT_MEAN_SQUARED_ERROR = "RootMeanSquaredError"

NUMERICAL_METRICS = (JENSEN_SHANNON, NORMALIZED_WASSERSTEIN, PSI, KOLMOGOROV_SMIRNOV)
CATEGORICAL_METRICS = (JENSEN_SHANNON, PSI, CHI_SQUARED)

# evaluate_metrics_threshold.py: "the users expect the value should be greater than the threshold"
# for these (the tests' p-values); every other metric breaches above its threshold.
HIGHER_IS_BETTER = frozenset({KOLMOGOROV_SMIRNOV, CHI_SQUARED})

# numerical_data_drift_metrics.py, _ks2sample_pandas_impl: DATASET_SIZE.
KS_MAX_ROWS = 10_000

# df_utils.py: the Spark type groups.
_LONG = "long"
_DOUBLE = "double"
_CATEGORICAL_TYPES = ("string", "boolean", "timestamp", "date", "binary")


class MonitoringComputationError(ValueError):
    """The service refuses this computation (its components raise); the message says why."""


def spark_type(series: pd.Series) -> str:
    """The Spark SQL type a column would have in the service's Spark DataFrame."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return _LONG
    if pd.api.types.is_float_dtype(dtype):
        return _DOUBLE
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    return "string"


def common_columns(baseline: pd.DataFrame, production: pd.DataFrame) -> dict[str, str]:
    """Columns of both frames with compatible types (``get_common_columns``), in baseline order."""
    found: dict[str, str] = {}
    for column in baseline.columns:
        if column not in production.columns:
            continue
        left, right = spark_type(baseline[column]), spark_type(production[column])
        if left == right or {left, right} <= {_LONG, _DOUBLE}:
            # The service widens int/long to long and float/double to double; an int column
            # against a float one keeps the baseline's type here (pandas reads nullable ints
            # as floats, which Spark would not).
            found[column] = left
    if not found:
        raise MonitoringComputationError(
            "Found no common columns between input datasets. Try double-checking if there are common "
            "columns between the input datasets. Common columns must have the same names "
            "(case-sensitive) and similar data types."
        )
    return found


def distinct_ratio(series: pd.Series) -> float:
    """``get_distinct_ratio``: distinct values (null counting as one) over all values."""
    if len(series) == 0:
        return 0.0
    return series.nunique(dropna=False) / len(series)


def column_types(
    baseline: pd.DataFrame,
    columns: dict[str, str],
    overrides: dict[str, str] | None = None,
) -> tuple[list[str], list[str]]:
    """(numerical, categorical) column names, typed on the baseline as ``is_categorical`` does."""
    overrides = {k: str(v).lower() for k, v in (overrides or {}).items()}
    numerical, categorical = [], []
    for column, kind in columns.items():
        forced = overrides.get(column)
        if forced == "categorical" or (forced is None and _is_categorical(baseline[column], kind)):
            categorical.append(column)
        else:
            numerical.append(column)
    return numerical, categorical


def _is_categorical(series: pd.Series, kind: str) -> bool:
    if kind in _CATEGORICAL_TYPES:
        return True
    if kind == _LONG:
        return distinct_ratio(series) < 0.05
    return False


# -- histograms -------------------------------------------------------------------------------


def sturges_bins(baseline_count: int, production_count: int) -> int:
    """``_get_optimal_number_of_bins``: ceil(log2(n) + 1) for the smaller dataset's n."""
    smaller = baseline_count if baseline_count < production_count else production_count
    if smaller <= 0:
        raise MonitoringComputationError("A histogram needs at least one row in each dataset.")
    return math.ceil(math.log2(smaller) + 1)


def bin_edges(baseline: np.ndarray, production: np.ndarray, num_bins: int) -> np.ndarray:
    """``get_dual_histogram_bin_edges``: equal-width edges over both datasets' range."""
    low = float(min(baseline.min(), production.min()))
    high = float(max(baseline.max(), production.max()))
    if low == high:
        delta = 0.005 if low == 0 else abs(low * 0.005)
        return np.array([low - delta, low + delta])
    width = (high - low) / num_bins
    # Built as the service builds them (low + k * width), so the float rounding is the same.
    return np.array([low] + [low + k * width for k in range(1, num_bins + 1)])


def histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin as Spark's ``RDD.histogram(buckets)``: bins [a, b), the last [a, b].

    Values outside [first edge, last edge] are not counted (the last computed edge can fall a
    rounding error below the maximum, as in the service). Evenly spaced edges use Spark's fast
    path, ``int((x - min) / inc)``; others a bisection.
    """
    values = np.asarray(values, dtype=float)
    low, high = float(edges[0]), float(edges[-1])
    inside = values[(values >= low) & (values <= high)]
    steps = np.diff(edges)
    if steps.max() - steps.min() < 1e-10:
        increment = (high - low) / (len(edges) - 1)
        index = ((inside - low) / increment).astype(np.int64)
    else:
        index = np.searchsorted(edges, inside, side="right") - 1
    # Spark keeps one counter per edge, then adds the last (x == max) into the last bin.
    counts = np.bincount(np.clip(index, 0, len(edges) - 1), minlength=len(edges))
    counts[-2] += counts[-1]
    return counts[:-1]


def dual_histograms(baseline: np.ndarray, production: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both datasets' counts on the shared edges."""
    edges = bin_edges(baseline, production, sturges_bins(len(baseline), len(production)))
    return histogram(baseline, edges), histogram(production, edges)


# -- drift ------------------------------------------------------------------------------------


def jensen_shannon_numerical(baseline: np.ndarray, production: np.ndarray) -> float:
    """``_jensen_shannon_numerical``: JS distance (base 2) of the shared-bin histograms."""
    base_counts, prod_counts = dual_histograms(baseline, production)
    return float(distance.jensenshannon(base_counts / len(baseline), prod_counts / len(production), base=2))


def normalized_wasserstein(baseline: np.ndarray, production: np.ndarray) -> float:
    """``_normalized_wasserstein``: Wasserstein distance over max(baseline's stddev, 0.001)."""
    raw = wasserstein_distance(baseline, production)
    # Spark's stddev is the sample standard deviation; it is null for fewer than two values.
    std = float(np.std(baseline, ddof=1)) if len(baseline) > 1 else None
    norm = max(std, 0.001) if std is not None and not math.isnan(std) else 0.001
    return float(raw / norm)


def psi_numerical(baseline: np.ndarray, production: np.ndarray) -> float:
    """``_psi_numerical``: PSI over the shared bins, each count plus one (Laplace smoothing)."""
    base_counts, prod_counts = dual_histograms(baseline, production)
    base = (base_counts + 1) / (len(baseline) + len(base_counts))
    prod = (prod_counts + 1) / (len(production) + len(prod_counts))
    return float(np.sum((prod - base) * np.log(prod / base)))


def ks_pvalue(baseline: np.ndarray, production: np.ndarray) -> float:
    """``_ks2sample_pandas_impl``: the two-sample KS p-value; refused from 10,000 rows on."""
    if not (len(baseline) < KS_MAX_ROWS and len(production) < KS_MAX_ROWS):
        raise MonitoringComputationError(
            "Cannot calculate two-sample Kolmogorov-Smirnov test on dataset with more than "
            f"{KS_MAX_ROWS} entries"
        )
    return float(ks_2samp(baseline, production).pvalue)


def _frequencies(series: pd.Series) -> dict[str, int]:
    # The service keys categories by str(value), so 1 and "1" are one category. Counted first and
    # the few distinct values stringified after: stringifying a million values costs more.
    found: dict[str, int] = {}
    for value, count in series.value_counts(sort=False, dropna=False).items():
        key = str(value)
        found[key] = found.get(key, 0) + int(count)
    return found


def jensen_shannon_categorical(baseline: pd.Series, production: pd.Series) -> float:
    """``_jensen_shannon_categorical``: JS distance (base 2) over every category of either side."""
    base, prod = _frequencies(baseline), _frequencies(production)
    keys = sorted(set(base) | set(prod))
    p = np.array([base.get(k, 0) / len(baseline) for k in keys])
    q = np.array([prod.get(k, 0) / len(production) for k in keys])
    return float(distance.jensenshannon(p, q, base=2))


def psi_categorical(baseline: pd.Series, production: pd.Series) -> float:
    """``_psi_categorical``: PSI over every category of either side, Laplace-smoothed."""
    base, prod = _frequencies(baseline), _frequencies(production)
    keys = sorted(set(base) | set(prod))
    b = np.array([(base.get(k, 0) + 1) / (len(baseline) + len(keys)) for k in keys])
    p = np.array([(prod.get(k, 0) + 1) / (len(production) + len(keys)) for k in keys])
    return float(np.sum((p - b) * np.log(p / b)))


def chi_squared_pvalue(baseline: pd.Series, production: pd.Series) -> float:
    """``_chisquaretest``: Pearson's chi-squared p-value of production counts against the
    baseline's proportions scaled to the production count. An unseen category has an expected
    count of 0, which makes the statistic infinite and the p-value 0, as in the service."""
    base, prod = _frequencies(baseline), _frequencies(production)
    keys = sorted(set(base) | set(prod))
    observed = np.array([prod.get(k, 0) for k in keys], dtype=float)
    expected = np.array([base.get(k, 0) / len(baseline) * len(production) for k in keys])
    with np.errstate(divide="ignore", invalid="ignore"):
        # scipy checks that the sums agree; they do up to rounding, as in the service.
        return float(chisquare(observed, expected, sum_check=False).pvalue)


_NUMERICAL = {
    JENSEN_SHANNON: jensen_shannon_numerical,
    NORMALIZED_WASSERSTEIN: normalized_wasserstein,
    PSI: psi_numerical,
    KOLMOGOROV_SMIRNOV: ks_pvalue,
}
_CATEGORICAL = {
    JENSEN_SHANNON: jensen_shannon_categorical,
    PSI: psi_categorical,
    CHI_SQUARED: chi_squared_pvalue,
}


@dataclass(frozen=True)
class MetricRow:
    """One row of a signal's metric table, the columns of the service's ``signal_metrics``."""

    group: str
    metric_name: str
    metric_value: float
    threshold_value: float | None
    data_type: str

    @property
    def breached(self) -> bool:
        return breached(self.metric_name, self.metric_value, self.threshold_value)


def breached(metric_name: str, value: float, threshold: float | None) -> bool:
    """``calculate_metrics_breach``: p-values below their threshold, other metrics above it."""
    if threshold is None or value is None or math.isnan(value) or math.isnan(threshold):
        return False
    if metric_name in HIGHER_IS_BETTER:
        return value < threshold
    return value > threshold


def drift_metrics(
    baseline: pd.DataFrame,
    production: pd.DataFrame,
    *,
    numerical_metric: str,
    numerical_threshold: float,
    categorical_metric: str,
    categorical_threshold: float,
    features: list[str] | None = None,
    overrides: dict[str, str] | None = None,
) -> list[MetricRow]:
    """``compute_data_drift_measures_tests``: one metric per common feature, and the row counts."""
    if numerical_metric not in _NUMERICAL:
        raise MonitoringComputationError(f"Invalid metric {numerical_metric} for numerical feature")
    if categorical_metric not in _CATEGORICAL:
        raise MonitoringComputationError(f"Invalid metric {categorical_metric} for categorical feature")
    columns = common_columns(baseline, production)
    if features is not None:
        missing = sorted(set(features) - set(columns))
        if missing:
            raise MonitoringComputationError(
                f"Feature(s) {', '.join(missing)} are not columns of both the production and the "
                "reference data."
            )
        columns = {c: t for c, t in columns.items() if c in features}
    numerical, categorical = column_types(baseline, columns, overrides)
    # The service drops every row with a null before counting (``dropna``).
    chosen = list(columns)
    baseline = baseline[chosen].dropna()
    production = production[chosen].dropna()
    if len(baseline) == 0 or len(production) == 0:
        empty = "production" if len(production) == 0 else "reference"
        raise MonitoringComputationError(
            f"The {empty} data has no rows without nulls in the monitored features: there is "
            "nothing to compare."
        )
    rows = []
    for column in numerical:
        value = _NUMERICAL[numerical_metric](
            baseline[column].to_numpy(dtype=float), production[column].to_numpy(dtype=float)
        )
        rows.append(MetricRow(column, numerical_metric, value, numerical_threshold, "Numerical"))
    for column in categorical:
        value = _CATEGORICAL[categorical_metric](baseline[column], production[column])
        rows.append(MetricRow(column, categorical_metric, value, categorical_threshold, "Categorical"))
    rows.append(MetricRow("", "BaselineRowCount", float(len(baseline)), None, ""))
    rows.append(MetricRow("", "TargetRowCount", float(len(production)), None, ""))
    return rows


# -- data quality -----------------------------------------------------------------------------


def _type_errors(values: pd.Series, kind: str) -> int:
    """Non-null values that do not cast to the baseline's type (Spark's ``cast`` gives null)."""
    present = values.dropna()
    if len(present) == 0 or spark_type(values) == kind or kind == "string":
        return 0
    if kind in (_LONG, _DOUBLE):
        cast = pd.to_numeric(present.astype(str), errors="coerce")
        if kind == _LONG:
            cast = cast.where(cast.isna() | (cast == np.floor(cast)))
        return int(cast.isna().sum())
    if kind == "boolean":
        return int((~present.astype(str).str.lower().isin(["true", "false", "1", "0"])).sum())
    if kind == "timestamp":
        return int(pd.to_datetime(present.astype(str), errors="coerce").isna().sum())
    return 0


def quality_metrics(
    baseline: pd.DataFrame,
    production: pd.DataFrame,
    *,
    numerical_thresholds: dict[str, float],
    categorical_thresholds: dict[str, float],
    features: list[str] | None = None,
    overrides: dict[str, str] | None = None,
) -> list[MetricRow]:
    """``compute_data_quality_metrics``: rates of the production rows against the baseline's
    statistics (its types, numerical min and max, the set of each string column's values)."""
    if len(production) == 0:
        raise MonitoringComputationError("The production data has no rows: there is nothing to check.")
    kinds = {c: spark_type(baseline[c]) for c in baseline.columns if c in production.columns}
    if features is not None:
        missing = sorted(set(features) - set(kinds))
        if missing:
            raise MonitoringComputationError(
                f"Feature(s) {', '.join(missing)} are not columns of both the production and the "
                "reference data."
            )
        kinds = {c: t for c, t in kinds.items() if c in features}
    if not kinds:
        raise MonitoringComputationError("Found no common columns between input datasets.")
    numerical, categorical = column_types(baseline, kinds, overrides)
    strings = [c for c in categorical if kinds[c] == "string"]  # modify_categorical_columns
    total = len(production)
    rows = []
    for column, kind in kinds.items():
        data_type = "Numerical" if column in numerical else "Categorical"
        thresholds = numerical_thresholds if column in numerical else categorical_thresholds
        values = production[column]
        nulls = int(values.isna().sum())
        type_errors = _type_errors(values, kind)
        # Imputed (median / mode) after counting nulls, then cast to the baseline's type: what
        # fails the cast becomes null and is not out of bounds.
        out_of_bounds = 0
        if column in numerical:
            reference = pd.to_numeric(baseline[column], errors="coerce").dropna()
            cast = pd.to_numeric(values, errors="coerce")
            if len(reference):
                cast = cast.fillna(cast.median()) if cast.notna().any() else cast
                low, high = reference.min(), reference.max()
                out_of_bounds = int((cast > high).sum() + (cast < low).sum())
        elif column in strings:
            allowed = set(baseline[column].dropna().astype(str))
            present = values.dropna().astype(str)
            mode = present.mode()
            filled = values.astype(object).where(values.notna(), mode.iloc[0] if len(mode) else None)
            filled = filled.dropna().astype(str)
            out_of_bounds = int((~filled.isin(allowed)).sum())
        for name, count in (
            (NULL_VALUE_RATE, nulls),
            (DATA_TYPE_ERROR_RATE, type_errors),
            (OUT_OF_BOUNDS_RATE, out_of_bounds),
        ):
            rows.append(MetricRow(column, name, round(count / total, 5), thresholds.get(name), data_type))
    rows.append(MetricRow("", "RowCount", float(total), None, ""))
    return rows


# -- model performance ------------------------------------------------------------------------


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, MSE and RMSE of joined predictions (the service computes MAE and RMSE with
    azureml-metrics; MSE is the SDK's third regression threshold)."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if len(actual) == 0:
        raise MonitoringComputationError(
            "The data joiner resulted in an empty data asset. Please check the input data to see if "
            "this is expected."
        )
    errors = predicted - actual
    mse = float(np.mean(errors**2))
    return {
        MEAN_ABSOLUTE_ERROR: float(np.mean(np.abs(errors))),
        MEAN_SQUARED_ERROR: mse,
        ROOT_MEAN_SQUARED_ERROR: math.sqrt(mse),
    }
