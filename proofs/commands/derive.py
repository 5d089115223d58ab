"""``headflow derive``: print a claim's derivation in the terminal."""

from __future__ import annotations

NAME = "derive"
HELP = "print the derivation of a claim (unicode, LaTeX or MathML)"


def configure(parser) -> None:
    parser.add_argument("claim", help="claim id, for example C2")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--latex", action="store_true", help="print LaTeX")
    form.add_argument("--mathml", action="store_true", help="print MathML")
    parser.add_argument(
        "--claims",
        metavar="MODULE",
        action="append",
        default=[],
        help="also load the claims of a module path or .py file",
    )


def run(args) -> int:
    from symbolic.errors import InvalidArgumentError

    from ..runner import load_claims

    loaded = {c.id: c for c in load_claims(args.claims)}
    if args.claim not in loaded:
        raise InvalidArgumentError(
            "claim", args.claim, f"unknown claim; available: {sorted(loaded)}"
        )
    item = loaded[args.claim]
    if item.claim is None:
        raise InvalidArgumentError(
            "claim", args.claim, f"cannot be loaded: {item.error}"
        )
    claim = item.claim
    key = "latex" if args.latex else "mathml" if args.mathml else "pretty"

    print(f"{claim.id}: {claim.title}")
    print()
    for h in claim.hypotheses:
        print(f"  - {h}")
    print()
    print(f"Statement: {claim.statement}")
    for k, step in enumerate(claim.derivation(), 1):
        shown = step.to_json()
        print()
        print(f"({k}) {shown['description']}")
        body = shown.get(key) or shown.get("latex")
        if body:
            print()
            print("\n".join("    " + line for line in body.splitlines()))
    return 0
