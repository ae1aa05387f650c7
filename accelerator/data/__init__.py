"""Synthetic taxi trip data and its data-quality checks."""

from accelerator.data.assets import CONTENT_TAG, register_data, version_with_content
from accelerator.data.taxi import DRIFT_SCENARIOS, TRIP_COLUMNS, generate_trips
from accelerator.data.validation import DataValidationError, validate_trips

__all__ = [
    "CONTENT_TAG",
    "DRIFT_SCENARIOS",
    "TRIP_COLUMNS",
    "DataValidationError",
    "generate_trips",
    "register_data",
    "validate_trips",
    "version_with_content",
]
