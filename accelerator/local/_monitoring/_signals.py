"""Each signal of a ``MonitorDefinition`` computed on its data: the SDK's entities in, metric rows out.

Thresholds come from the signal's ``metric_thresholds``, with the SDK's own defaults where it has
none (``thresholds.py``, ``_get_default_thresholds``: normalized Wasserstein distance 0.1 for
numerical features, Jensen-Shannon distance 0.1 for categorical ones, data quality rates 0.0).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pandas as pd
from azure.ai.ml.entities import (
    CategoricalDriftMetrics,
    DataDriftMetricThreshold,
    DataDriftSignal,
    DataQualityMetricThreshold,
    DataQualitySignal,
    NumericalDriftMetrics,
    PredictionDriftMetricThreshold,
    PredictionDriftSignal,
)
from azure.ai.ml.entities._monitoring.signals import ModelPerformanceSignal

from accelerator.local._exceptions import LocalBackendUnsupportedError
from accelerator.local._monitoring import _data
from accelerator.local._monitoring import _metrics as m
from accelerator.local._monitoring._metrics import MetricRow, MonitoringComputationError

# camel (REST) -> the components' metric names, which are the same words.
_DRIFT_NAMES = {
    "jensen_shannon_distance": m.JENSEN_SHANNON,
    "normalized_wasserstein_distance": m.NORMALIZED_WASSERSTEIN,
    "population_stability_index": m.PSI,
    "two_sample_kolmogorov_smirnov_test": m.KOLMOGOROV_SMIRNOV,
    "pearsons_chi_squared_test": m.CHI_SQUARED,
}
_QUALITY_NAMES = {
    "null_value_rate": m.NULL_VALUE_RATE,
    "data_type_error_rate": m.DATA_TYPE_ERROR_RATE,
    "out_of_bounds_rate": m.OUT_OF_BOUNDS_RATE,
}
_REGRESSION_NAMES = {
    "mean_absolute_error": m.MEAN_ABSOLUTE_ERROR,
    "mean_squared_error": m.MEAN_SQUARED_ERROR,
    "root_mean_squared_error": m.ROOT_MEAN_SQUARED_ERROR,
}

SUPPORTED = (DataDriftSignal, PredictionDriftSignal, DataQualitySignal, ModelPerformanceSignal)


def signal_type(signal: Any) -> str:
    return str(getattr(signal, "type", type(signal).__name__))


def _drift_choice(metrics: Any, default: Any) -> tuple[str, float]:
    """(metric, threshold) of NumericalDriftMetrics/CategoricalDriftMetrics: the first one set."""
    for source in (metrics, default):
        if source is None:
            continue
        for attribute, name in _DRIFT_NAMES.items():
            value = getattr(source, attribute, None)
            if value is not None:
                return name, float(value)
    raise AssertionError("the SDK's defaults always name a metric")


def drift_thresholds(signal: Any) -> tuple[str, float, str, float]:
    """(numerical metric, threshold, categorical metric, threshold) of a drift signal."""
    thresholds = signal.metric_thresholds
    default_class = (
        PredictionDriftMetricThreshold
        if isinstance(signal, PredictionDriftSignal)
        else DataDriftMetricThreshold
    )
    if thresholds is not None and not isinstance(
        thresholds, (DataDriftMetricThreshold, PredictionDriftMetricThreshold)
    ):
        raise MonitoringComputationError(
            f"A {signal_type(signal)} signal takes a DataDriftMetricThreshold, "
            f"not {type(thresholds).__name__}."
        )
    numerical = getattr(thresholds, "numerical", None)
    categorical = getattr(thresholds, "categorical", None)
    if isinstance(numerical, CategoricalDriftMetrics) or isinstance(categorical, NumericalDriftMetrics):
        raise MonitoringComputationError(
            "numerical takes NumericalDriftMetrics; categorical CategoricalDriftMetrics."
        )
    default = default_class._get_default_thresholds()
    num_metric, num_threshold = _drift_choice(numerical, default.numerical)
    cat_metric, cat_threshold = _drift_choice(categorical, default.categorical)
    if num_metric not in m.NUMERICAL_METRICS:
        raise MonitoringComputationError(f"Invalid metric {num_metric} for numerical feature")
    if cat_metric not in m.CATEGORICAL_METRICS:
        raise MonitoringComputationError(f"Invalid metric {cat_metric} for categorical feature")
    return num_metric, num_threshold, cat_metric, cat_threshold


def quality_thresholds(signal: DataQualitySignal) -> tuple[dict[str, float], dict[str, float]]:
    thresholds = signal.metric_thresholds or DataQualityMetricThreshold._get_default_thresholds()
    default = DataQualityMetricThreshold._get_default_thresholds()

    def pick(side: Any, fallback: Any) -> dict[str, float]:
        chosen = {}
        for attribute, name in _QUALITY_NAMES.items():
            value = getattr(side, attribute, None) if side is not None else None
            if value is None and side is None:
                value = getattr(fallback, attribute)
            if value is not None:
                chosen[name] = float(value)
        return chosen

    return pick(thresholds.numerical, default.numerical), pick(thresholds.categorical, default.categorical)


def _features(signal: Any) -> list[str] | None:
    features = getattr(signal, "features", None)
    if features is None or features == "all_features":
        return None
    if isinstance(features, list):
        return [str(f) for f in features]
    raise LocalBackendUnsupportedError(
        "MonitorFeatureFilter (top features by attribution)",
        "It needs feature importance from a model; list the features, or use 'all_features'.",
    )


def _overrides(signal: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (getattr(signal, "feature_type_override", None) or {}).items()}


def _cache_key(data: Any, trigger_time: dt.datetime, performance: bool) -> tuple[tuple[Any, ...], str | None]:
    """What one read of ``data`` is cached under, and its pre-processing component if it has one."""
    span = _data.window(data.data_window, trigger_time)
    component = getattr(data, "pre_processing_component", None)
    if component:
        # The team's own data carries its correlation id: one pre-processing job per input and
        # window serves every signal of the run.
        return (str(data.input_data.path), span, str(component)), str(component)
    return (str(data.input_data.path), span, performance), None


def prefetch(ml_client: Any, signals: Any, trigger_time: dt.datetime, cache: dict[Any, Any]) -> None:
    """Submit every pre-processing job the run's signals will read, before the first is waited
    for: they run side by side, as the service's per-signal sub-pipelines do. A submission that
    fails is left to the signal that reads it, which then fails with the error in its own child."""
    for signal in signals:
        inputs = (getattr(signal, "production_data", None), getattr(signal, "reference_data", None))
        if not isinstance(signal, SUPPORTED) or any(data is None for data in inputs):
            continue
        performance = isinstance(signal, ModelPerformanceSignal)
        for data in inputs:
            with contextlib.suppress(Exception):  # a bad window or input: the signal's own error
                key, component = _cache_key(data, trigger_time, performance)
                if component and key not in cache:
                    cache[key] = _data.submit_preprocessing(ml_client, component, key[0], key[1])


def compute(
    ml_client: Any, signal: Any, trigger_time: dt.datetime, cache: dict[Any, Any] | None = None
) -> list[MetricRow]:
    """The metric rows of one signal at ``trigger_time``."""
    if not isinstance(signal, SUPPORTED):
        raise LocalBackendUnsupportedError(
            f"{type(signal).__name__} monitoring signals",
            "The local backend computes data drift, prediction drift, data quality and model performance.",
        )
    if signal.production_data is None or signal.reference_data is None:
        raise MonitoringComputationError(
            f"The {signal_type(signal)} signal has no production or reference data: give both, or "
            "monitor a deployment that collects its model inputs and outputs."
        )
    performance = isinstance(signal, ModelPerformanceSignal)
    cache = {} if cache is None else cache

    def read(data: Any) -> pd.DataFrame:
        # Signals of one run reading the same data in the same window read it once.
        key, component = _cache_key(data, trigger_time, performance)
        if component:
            if key not in cache:
                cache[key] = _data.preprocessed(ml_client, component, key[0], key[1])
            elif isinstance(cache[key], _data.Pending):  # submitted by prefetch: wait for it
                cache[key] = _data.preprocessed_rows(ml_client, cache[key])
            return cache[key]
        if key not in cache:
            cache[key] = _data.read_input(ml_client, key[0], key[1], correlation_ids=performance)
        return cache[key]

    production = read(signal.production_data)
    reference = read(signal.reference_data)
    if performance:
        return _performance(signal, production, reference)
    if len(production) == 0 or len(reference) == 0:
        which = "production" if len(production) == 0 else "reference"
        raise MonitoringComputationError(f"DataNotFoundError: the {which} data window has no rows.")
    if isinstance(signal, DataQualitySignal):
        numerical, categorical = quality_thresholds(signal)
        return m.quality_metrics(
            reference,
            production,
            numerical_thresholds=numerical,
            categorical_thresholds=categorical,
            features=_features(signal),
            overrides=_overrides(signal),
        )
    num_metric, num_threshold, cat_metric, cat_threshold = drift_thresholds(signal)
    return m.drift_metrics(
        reference,
        production,
        numerical_metric=num_metric,
        numerical_threshold=num_threshold,
        categorical_metric=cat_metric,
        categorical_threshold=cat_threshold,
        features=_features(signal),
        overrides=_overrides(signal),
    )


def _column(data: Any, key: str, what: str, frame: pd.DataFrame) -> str:
    column = (data.data_column_names or {}).get(key)
    if not column:
        raise MonitoringComputationError(
            f"The model performance signal's {what} needs data_column_names['{key}']."
        )
    if column not in frame.columns:
        raise MonitoringComputationError(
            f"The join column '{column}' is not present in the {what}."
            if key == "correlation_id"
            else f"The column '{column}' is not present in the {what}."
        )
    return column


def regression_thresholds(signal: ModelPerformanceSignal) -> dict[str, float | None]:
    thresholds = signal.metric_thresholds
    if thresholds is None or thresholds.regression is None:
        if thresholds is not None and thresholds.classification is not None:
            raise LocalBackendUnsupportedError(
                "classification model performance", "The local backend monitors regression models."
            )
        raise MonitoringComputationError(
            "A model performance signal needs ModelPerformanceMetricThreshold(regression=...)."
        )
    return {name: getattr(thresholds.regression, attribute) for attribute, name in _REGRESSION_NAMES.items()}


def _performance(
    signal: ModelPerformanceSignal, production: pd.DataFrame, reference: pd.DataFrame
) -> list[MetricRow]:
    """Predictions joined to ground truth on the correlation id (``model_monitor_data_joiner``)."""
    thresholds = regression_thresholds(signal)
    if len(production) == 0 or len(reference) == 0:
        which = "production" if len(production) == 0 else "ground truth"
        raise MonitoringComputationError(f"DataNotFoundError: the {which} data window has no rows.")
    prediction = _column(signal.production_data, "prediction", "production data", production)
    left_key = _column(signal.production_data, "correlation_id", "production data", production)
    actual = _column(signal.reference_data, "actual", "reference data", reference)
    right_key = _column(signal.reference_data, "correlation_id", "reference data", reference)
    left = production[[left_key, prediction]].rename(columns={left_key: "_key", prediction: "_prediction"})
    right = reference[[right_key, actual]].rename(columns={right_key: "_key", actual: "_actual"})
    joined = left.astype({"_key": str}).merge(right.astype({"_key": str}), on="_key", how="inner")
    values = m.regression_metrics(joined["_actual"].to_numpy(), joined["_prediction"].to_numpy())
    rows = [MetricRow("", name, value, thresholds[name], "") for name, value in values.items()]
    rows.append(MetricRow("", "RowCount", float(len(joined)), None, ""))
    return rows
