"""Claims about attention dynamics, each with its checks and evidence.

One module per claim (``c1_energy`` ... ``c7_entropy``), the claim framework
(:mod:`proofs.framework`), discovery and running (:mod:`proofs.runner`), seeded
sampling and counterexample search (:mod:`proofs.sampling`), the independent
ball-arithmetic certifier (:mod:`proofs._arb`, used through
:mod:`proofs.certify`) and the command line (:mod:`proofs.cli`).  Claims call
:mod:`symbolic` and :mod:`numeric`; the command line hands finished results to
:mod:`reports` for rendering.
"""

from .certify import certify_rate
from .framework import (
    Claim,
    ClaimResult,
    Context,
    Counterexample,
    Evidence,
    Figure,
    Kind,
    Role,
    Status,
    Step,
    check,
    decide_status,
    run_claim,
)
from .sampling import sample, search

__all__ = [
    "certify_rate",
    "sample",
    "search",
    "Claim",
    "ClaimResult",
    "Context",
    "Counterexample",
    "Evidence",
    "Figure",
    "Kind",
    "Role",
    "Status",
    "Step",
    "check",
    "decide_status",
    "run_claim",
]
