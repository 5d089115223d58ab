"""``headflow report``: render a results file again, without recomputing."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "report"
HELP = "render results.json into HTML, Markdown or LaTeX without recomputing"


def configure(parser) -> None:
    parser.add_argument("results", type=Path, help="a results.json from verify")
    parser.add_argument(
        "--format",
        choices=("html", "md", "tex", "all"),
        default="html",
        help="output format (default html)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="output directory"
    )


def run(args) -> int:
    from symbolic.errors import InvalidArgumentError

    from reports.render import render, validate_results

    try:
        document = json.loads(args.results.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(
            "results",
            str(args.results),
            f"is not JSON ({exc.msg} at line {exc.lineno})",
        )
    except RecursionError:
        raise InvalidArgumentError(
            "results", str(args.results), "is nested too deeply to be a result document"
        )
    document = validate_results(document)
    provenance = None
    side = args.results.with_name("provenance.json")
    if side.is_file():
        try:
            provenance = json.loads(side.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            provenance = None
    for path in render(document, args.format, args.out, provenance=provenance):
        print(path)
    return 0
