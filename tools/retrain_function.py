"""Stage the retraining Azure Function's package for Terraform (infra/retraining.tf).

The app's root holds function_app.py, host.json and requirements.txt (from
notebooks/workloads/taxi_fare/retrain/); the handler's imports sit beside them: notebooks/workloads
as ``workloads`` and the ``accelerator`` package. The zip is byte-identical for the same files
(sorted entries, fixed timestamps), so the plan and the apply of one commit deploy the same package.

    python tools/retrain_function.py [--out infra/.build/retrain-function.zip]
"""

from __future__ import annotations

import argparse
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "notebooks" / "workloads" / "taxi_fare" / "retrain"
ROOT_FILES = ("function_app.py", "host.json", "requirements.txt")
# Package folder in the zip -> folder in the repository.
PACKAGES = {"workloads": REPO / "notebooks" / "workloads", "accelerator": REPO / "accelerator"}
SKIPPED_PARTS = {"__pycache__", "tests", ".ipynb_checkpoints"}
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def entries() -> Iterator[tuple[str, Path]]:
    """(name in the zip, file) for every file of the package, sorted by name."""
    found = {name: APP / name for name in ROOT_FILES}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*"):
            relative = path.relative_to(folder)
            if path.is_file() and not SKIPPED_PARTS.intersection(relative.parts) and path.suffix != ".pyc":
                found[f"{package}/{relative.as_posix()}"] = path
    missing = [name for name in ROOT_FILES if not found[name].is_file()]
    if missing:
        raise FileNotFoundError(f"{APP.relative_to(REPO)} has no {', '.join(missing)}")
    yield from sorted(found.items())


def build(out: Path) -> Path:
    """Write the package to ``out`` (atomically: a failed build leaves no partial zip)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in entries():
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    partial.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "infra" / ".build" / "retrain-function.zip")
    args = parser.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
