"""A taxi fare model made with the workload's own code, for the serving tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def save_linear_taxi_model(folder: Path, *, rows: int, seed: int, alpha: float = 1.0) -> tuple[Any, Any]:
    """Fit a linear taxi fare model with the workload's own code and save it to ``folder`` as its
    train.py does; (the fitted model, its feature frame)."""
    from accelerator.data import generate_trips

    source = str(Path(__file__).resolve().parents[2] / "notebooks" / "workloads" / "taxi_fare" / "src")
    sys.path.insert(0, source)
    try:
        import features
        import train
    finally:
        sys.path.remove(source)
    frame, _ = features.engineer_features(generate_trips(rows, seed=seed))
    x = frame[list(features.FEATURE_COLUMNS)]
    fitted = train.build_model({"model": "linear", "alpha": alpha}).fit(x, frame[features.TARGET])
    train.save_model(fitted, folder, x)
    return fitted, x
