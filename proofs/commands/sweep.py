"""``headflow sweep``: parameter sweeps over particle simulations."""

from __future__ import annotations

NAME = "sweep"
HELP = "run a parameter sweep of particle simulations (grid from flags or TOML)"


def configure(parser) -> None:
    parser.add_argument("--config", help="a TOML file describing the grid")


def run(args) -> int:
    from symbolic.errors import UnsupportedError

    raise UnsupportedError(
        "headflow sweep is not available yet in this version; run simulate per point"
    )
