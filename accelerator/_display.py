"""What the notebooks show: no SDK notices that are not the reader's concern, no cut table cells.

Applied once, when the package is imported (the notebooks import it in their first cells), rather
than in every notebook:

- The Azure ML SDK logs "Class X: This is an experimental class, and may change at any time" the
  first time an experimental entity is built (``azure/ai/ml/_utils/_experimental.py``): registries,
  their region details, a job's auto-delete settings... A notebook that builds one would print a
  dozen of these lines; they say nothing about what the notebook does, on Azure or locally. A
  filter on the SDK's own logger drops exactly those records; every other SDK warning still shows.
- In a Jupyter kernel, pandas shows every column and each cell in full (its default cuts a cell at
  50 characters with "..."): the book's tables hold sentences (practices, gaps, role lists).
- In a kernel without ipywidgets, tqdm (MLflow's progress bars for artifact downloads) warns
  "IProgress not found" on every download (``tqdm/notebook.py``); a bar cannot be drawn there, and
  the warning is not the reader's to act on. Only that warning is ignored.
"""

from __future__ import annotations

import logging
import sys
import warnings

EXPERIMENTAL_LOGGER = "azure.ai.ml._utils._experimental"
# The link every experimental class or method notice of the SDK ends with.
EXPERIMENTAL_NOTICE = "aka.ms/azuremlexperimental"
# The start of tqdm's warning when ipywidgets is missing (tqdm.notebook.WARN_NOIPYW).
TQDM_NO_WIDGETS = "IProgress not found"


class ExperimentalNoticeFilter(logging.Filter):
    """Drops the SDK's "experimental class/method" notices, and nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return EXPERIMENTAL_NOTICE not in record.getMessage()


def configure(notebook: bool | None = None) -> None:
    """Install the filter (once) and, in a Jupyter kernel (or when ``notebook``), pandas' display."""
    logger = logging.getLogger(EXPERIMENTAL_LOGGER)
    if not any(isinstance(f, ExperimentalNoticeFilter) for f in logger.filters):
        logger.addFilter(ExperimentalNoticeFilter())
    # Only in a kernel: the job runner imports this package too, and must not pay for pandas.
    if notebook if notebook is not None else "ipykernel" in sys.modules:
        import pandas as pd

        warnings.filterwarnings("ignore", TQDM_NO_WIDGETS)
        pd.set_option("display.max_colwidth", None)
        pd.set_option("display.max_columns", None)
