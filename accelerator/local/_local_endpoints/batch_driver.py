"""The batch scoring driver: what a batch deployment's job runs, as Azure ML's parallel run does.

    python -m accelerator.local._local_endpoints.batch_driver --input DIR --output DIR \
        --scoring-script batch_score.py --model DIR [settings]

The input's files (a folder, recursively, or one file) are sorted and cut into mini-batches of
``--mini-batch-size`` files. A pool of ``--workers`` processes each imports the scoring script and
calls its ``init()`` once, then ``run(mini_batch)`` (a list of file paths) for the mini-batches it
is given. A mini-batch that raises or runs past ``--timeout`` seconds is retried ``--max-retries``
times; then its files count as failed. When more files have failed than ``--error-threshold``
(``-1``: any number may fail) the job stops and fails. With ``append_row`` the rows ``run`` returns
(a DataFrame's rows, or a list's items) go into one file, in the order of the mini-batches.

Only the standard library and pandas are imported here: the scoring script brings the rest.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import importlib.util
import logging
import multiprocessing
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

logger = logging.getLogger("batch_driver")

_module: Any = None


class MiniBatchTimeout(Exception):
    """A mini-batch ran past the deployment's timeout."""


def list_files(source: Path) -> list[Path]:
    """The files a job scores: one file, or a folder's files (hidden ones excepted) sorted by path."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FileNotFoundError(f"The job's input {source} does not exist.")
    return sorted(
        path
        for path in source.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(source).parts)
    )


def mini_batches(files: list[Path], size: int) -> list[list[Path]]:
    return [files[start : start + size] for start in range(0, len(files), size)]


def _load(script: str) -> Any:
    path = Path(script).resolve()
    sys.path.insert(0, str(path.parent))  # the script's own modules, as in its code folder
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot import the scoring script {script}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # so that what run() returns can be pickled back to the driver
    spec.loader.exec_module(module)
    for function in ("init", "run"):
        if not callable(getattr(module, function, None)):
            raise AttributeError(f"The scoring script {path.name} has no {function}() function.")
    return module


def _worker_init(script: str) -> None:
    global _module
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when workers stop
    if _module is None:  # not inherited from the driver (spawned workers import it themselves)
        _module = _load(script)
    _module.init()


def _on_alarm(signum: int, frame: Any) -> None:
    raise MiniBatchTimeout


class MiniBatchError(Exception):
    """A mini-batch's failure, as text: the script's own exception classes may not pickle."""


def _score(files: list[str], timeout: float) -> tuple[list[str], int]:
    """Run one mini-batch in a worker: (its output rows as lines, how many items run returned)."""
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return rows_of(_module.run(list(files)))
    except MiniBatchTimeout:
        raise MiniBatchError(f"run() took longer than the timeout of {timeout:g} seconds.") from None
    except Exception as error:
        logger.debug("".join(traceback.format_exc()))
        message = "".join(traceback.format_exception_only(type(error), error)).strip()
        raise MiniBatchError(message) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def rows_of(result: Any) -> tuple[list[str], int]:
    """``run``'s result as output lines: a DataFrame's rows as CSV, a sequence's items one per line."""
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        text = result.to_csv(header=False, index=False)
        return text.splitlines(), len(result)
    if isinstance(result, (list, tuple)) or hasattr(result, "tolist"):
        items = result.tolist() if hasattr(result, "tolist") else list(result)
        return [str(item) for item in items], len(items)
    raise TypeError(f"run() must return a pandas DataFrame or a list, not {type(result).__name__}.")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = getattr(logging, args.logging_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stdout)
    os.environ["AZUREML_MODEL_DIR"] = str(Path(args.model).resolve())
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    os.environ["AZUREML_BI_OUTPUT_PATH"] = str(output.resolve())

    files = list_files(Path(args.input))
    if not files:
        logger.error("The input %s has no files to score.", args.input)
        return 1
    batches = mini_batches(files, args.mini_batch_size)
    workers = max(1, min(args.workers, len(batches)))
    logger.info(
        "%d files in %d mini-batches of up to %d; %d workers; error threshold %s; %d retries, %gs timeout",
        len(files),
        len(batches),
        args.mini_batch_size,
        workers,
        args.error_threshold,
        args.max_retries,
        args.timeout,
    )
    started = time.perf_counter()
    results, failed, stopped = _run(args, batches, workers)
    scored = sum(len(batch) for index, batch in enumerate(batches) if index in results)
    failed_files = sum(len(batches[index]) for index in failed)
    rows = [line for index in sorted(results) for line in results[index]]
    if args.output_action == "append_row" and not stopped:
        target = output / args.output_file
        # Checked at deployment creation too: the predictions file never lands outside the output.
        if target.resolve().parent != output.resolve():
            raise SystemExit(f"output_file_name '{args.output_file}' must be a file name, not a path.")
        target.write_text("".join(line + "\n" for line in rows))
    logger.warning(
        "Batch scoring %s in %.1fs: %d of %d files scored, %d failed (error threshold %s); %d rows%s.",
        "stopped" if stopped else "finished",
        time.perf_counter() - started,
        scored,
        len(files),
        failed_files,
        args.error_threshold,
        len(rows),
        f" in {args.output_file}" if args.output_action == "append_row" and not stopped else "",
    )
    if stopped:
        logger.error(
            "The job failed: %d files failed, more than the error threshold of %d.",
            failed_files,
            args.error_threshold,
        )
        return 1
    return 0


def _run(
    args: argparse.Namespace, batches: list[list[Path]], workers: int
) -> tuple[dict[int, list[str]], dict[int, str], bool]:
    """Score every mini-batch; (lines per succeeded batch, error per failed batch, stopped early)."""
    # fork: workers start at once with the driver's imports; elsewhere spawn, the only safe choice.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    if context.get_start_method() == "fork":
        # Import the script (its MLflow, pandas...) once, here: forked workers inherit it and only
        # run init(), each in its own process as on Azure.
        global _module
        _module = _load(args.scoring_script)
    results: dict[int, list[str]] = {}
    failed: dict[int, str] = {}
    attempts = dict.fromkeys(range(len(batches)), 0)
    with futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(args.scoring_script,)
    ) as pool:
        pending: dict[futures.Future[Any], int] = {}

        def submit(index: int) -> None:
            attempts[index] += 1
            files = [str(path) for path in batches[index]]
            pending[pool.submit(_score, files, args.timeout)] = index

        for index in range(len(batches)):
            submit(index)
        failed_files = 0
        while pending:
            done, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
            # A set: take what finished together in mini-batch order, so the log reads the same each run.
            for future in sorted(done, key=pending.__getitem__):
                index = pending.pop(future)
                names = ", ".join(path.name for path in batches[index])
                try:
                    lines, count = future.result()
                except futures.process.BrokenProcessPool:
                    logger.error("A worker stopped (its init() failed or it crashed); see the log above.")
                    pool.shutdown(cancel_futures=True)
                    return results, {**failed, index: "worker stopped"}, True
                except MiniBatchError as error:  # the scoring script's own failure
                    message = str(error)
                    if attempts[index] <= args.max_retries:
                        logger.warning(
                            "mini-batch %d (%s), attempt %d failed: %s; retrying",
                            index,
                            names,
                            attempts[index],
                            message,
                        )
                        submit(index)
                        continue
                    failed[index] = message
                    failed_files += len(batches[index])
                    logger.error(
                        "mini-batch %d (%s) failed (attempts: %d): %s",
                        index,
                        names,
                        attempts[index],
                        message,
                    )
                    if 0 <= args.error_threshold < failed_files:
                        pool.shutdown(cancel_futures=True)
                        return results, failed, True
                    continue
                results[index] = lines
                logger.info("mini-batch %d (%s): %d rows", index, names, count)
    return results, failed, False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--scoring-script", required=True)
    parser.add_argument("--mini-batch-size", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--error-threshold", type=int, default=-1)
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--output-action", choices=("append_row", "summary_only"), default="append_row")
    parser.add_argument("--output-file", default="predictions.csv")
    parser.add_argument("--logging-level", default="info")
    return parser


if __name__ == "__main__":
    sys.exit(main())
