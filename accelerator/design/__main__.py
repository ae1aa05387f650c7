"""Command line: validate the design, and write or check the Terraform variables it generates.

    python -m accelerator.design validate --design design
    python -m accelerator.design write-tfvars --design design --out infra/environments [--check]

``--design`` is the folder of YAML inputs (the design the files alone describe), or a solution
design file written by week 4 (``.accelerator/design/solution.yaml``), which includes the choices
made with the notebooks' parameters.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from accelerator.design.decide import assemble
from accelerator.design.errors import DesignError
from accelerator.design.inputs import load_inputs
from accelerator.design.records import SolutionDesign
from accelerator.design.terraform import stale_tfvars, write_tfvars


def load_design(source: Path) -> SolutionDesign:
    """The solution design from a folder of inputs or from a solution design file."""
    if source.is_dir():
        return assemble(load_inputs(source))
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no design folder or solution design file there")
    return SolutionDesign.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m accelerator.design",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="check the design's inputs; list every problem")
    check.add_argument(
        "--design", type=Path, default=Path("design"), help="the design folder (default: design)"
    )
    tfvars = commands.add_parser("write-tfvars", help="write <env>.tfvars.json for each environment")
    tfvars.add_argument(
        "--design", type=Path, default=Path("design"), help="design folder or solution design file"
    )
    tfvars.add_argument("--out", type=Path, required=True, help="the folder of the tfvars files")
    tfvars.add_argument("--check", action="store_true", help="write nothing; fail if the files differ")
    args = parser.parse_args(argv)

    try:
        design = load_design(args.design)
    except (DesignError, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "validate":
        names = ", ".join(design.environment_names)
        print(f"{args.design}: valid; topology {names} in {design.location}, named '{design.project}'")
        return 0
    if args.check:
        problems = stale_tfvars(design, args.out)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            command = f"python -m accelerator.design write-tfvars --design {args.design} --out {args.out}"
            print(f"Regenerate them: {command}", file=sys.stderr)
            return 1
        print(f"{args.out}: the tfvars files match the design")
        return 0
    for path in write_tfvars(design, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
