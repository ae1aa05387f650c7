"""The package's display settings: the SDK's experimental notices dropped at their source, full cells."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from azure.ai.ml._utils import _experimental

import accelerator  # noqa: F401 - importing the package installs the filter
from accelerator import _display


@_experimental.experimental
class _Preview:
    """Decorated as the SDK decorates its experimental entities (and their schemas)."""

    def __init__(self) -> None:
        self.ready = True


def _notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    _experimental._warning_cache.clear()  # the SDK logs each class's notice once per process
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert _Preview().ready
    return [r.getMessage() for r in caplog.records if _display.EXPERIMENTAL_NOTICE in r.getMessage()]


def test_experimental_notices_are_dropped_by_the_package_filter(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger(_display.EXPERIMENTAL_LOGGER)
    installed = [f for f in logger.filters if isinstance(f, _display.ExperimentalNoticeFilter)]
    assert len(installed) == 1
    assert _notices(caplog) == []
    logger.removeFilter(installed[0])
    try:
        assert any("experimental class" in message for message in _notices(caplog))  # what it drops
    finally:
        _display.configure()
    assert len([f for f in logger.filters if isinstance(f, _display.ExperimentalNoticeFilter)]) == 1


def test_other_sdk_warnings_still_show() -> None:
    keep = _display.ExperimentalNoticeFilter()
    record = logging.LogRecord(
        _display.EXPERIMENTAL_LOGGER, logging.WARNING, __file__, 1, "disk full", (), None
    )
    assert keep.filter(record) is True


def test_in_a_notebook_table_cells_are_shown_in_full() -> None:
    with pd.option_context("display.max_colwidth", 50):
        _display.configure(notebook=True)
        long = "AzureML Data Scientist, Storage Blob Data Contributor, AzureML Compute Operator"
        html = pd.DataFrame({"roles": [long]}).to_html()
        assert long in html and "..." not in html


def test_in_a_notebook_only_tqdms_missing_widgets_warning_is_ignored() -> None:
    import warnings

    from tqdm.notebook import WARN_NOIPYW

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _display.configure(notebook=True)
        warnings.warn(WARN_NOIPYW, stacklevel=1)  # as tqdm.notebook warns it
        warnings.warn("IProgress is fine, but the disk is full", stacklevel=1)
    assert [str(w.message) for w in caught] == ["IProgress is fine, but the disk is full"]


def test_require_python_names_the_version_found() -> None:
    from accelerator.prerequisites import require_python

    require_python((3, 10))  # the test's own Python passes
    with pytest.raises(RuntimeError, match=r"Python 3\.99 or newer is needed; this kernel runs 3\."):
        require_python((3, 99))
