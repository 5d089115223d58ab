"""Checking that a JSON object is a headflow result document.

:func:`validate_results` checks the shape that ``proofs.runner.results_document``
writes: the types of the fields the reports show, and the status, kind and role
vocabularies.  It returns a normalised copy in which every optional field is
present, so that templates need no defaults; the input is never modified.
Fields it does not know are kept as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from symbolic.errors import InvalidArgumentError

__all__ = [
    "FIGURE_KINDS",
    "KINDS",
    "ROLES",
    "STATUSES",
    "validate_claim",
    "validate_provenance",
    "validate_results",
]

#: Claim statuses, in the order the default status rule ranks them.
STATUSES = ("proved", "verified", "holds-in-regime", "refuted", "failed", "error")
KINDS = ("symbolic", "numeric", "high-precision", "certified", "counterexample")
ROLES = ("statement", "boundary", "refutation", "illustration")
FIGURE_KINDS = ("lines", "bars", "heatmap")

_FIX = "pass the JSON that `headflow verify` writes (results.json)"


class _Checker:
    """Type checks that name the offending place inside the document."""

    def __init__(self, argument: str):
        self.argument = argument

    def fail(self, where: str, value: Any, rule: str) -> None:
        raise InvalidArgumentError(self.argument, value, f"{where} {rule}", _FIX)

    def expect(
        self, where: str, value: Any, test: Callable[[Any], bool], expected: str
    ) -> None:
        if not test(value):
            self.fail(where, value, f"must be {expected}, got {type(value).__name__}")

    def field(self, obj: dict, where: str, key: str, test, expected: str, default):
        """``obj[key]`` after checking it, or ``default`` when it is absent."""
        if key not in obj or (obj[key] is None and default is None):
            obj[key] = copy.deepcopy(default)
            return obj[key]
        self.expect(f"{where}[{key!r}]", obj[key], test, expected)
        return obj[key]

    def choice(self, obj: dict, where: str, key: str, options, default=None):
        value = obj.get(key, default)
        if value not in options:
            self.fail(
                f"{where}[{key!r}]", value, f"must be one of {', '.join(options)}"
            )
        obj[key] = value
        return value


def _is_str(v) -> bool:
    return isinstance(v, str)


def _is_opt_str(v) -> bool:
    return v is None or isinstance(v, str)


def _is_bool(v) -> bool:
    return isinstance(v, bool)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_list(v) -> bool:
    return isinstance(v, list)


def _is_dict(v) -> bool:
    return isinstance(v, dict)


def _is_number_or_str(v) -> bool:
    return isinstance(v, (int, float, str)) and not isinstance(v, bool)


def _list_of_str(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _dicts(check: _Checker, obj: dict, where: str, key: str) -> list[dict]:
    items = check.field(obj, where, key, _is_list, "a list", [])
    for k, item in enumerate(items):
        check.expect(f"{where}[{key!r}][{k}]", item, _is_dict, "an object")
    return items


# ----------------------------------------------------------------------
# parts of a claim
# ----------------------------------------------------------------------


def _statement(check: _Checker, claim: dict, where: str) -> None:
    statement = check.field(
        claim, where, "statement", _is_dict, "an object", {"latex": ""}
    )
    inner = f"{where}['statement']"
    check.field(statement, inner, "latex", _is_str, "a string", "")
    check.field(statement, inner, "mathml", _is_opt_str, "a string", None)


def _derivation(check: _Checker, claim: dict, where: str) -> None:
    for k, step in enumerate(_dicts(check, claim, where, "derivation")):
        inner = f"{where}['derivation'][{k}]"
        check.field(step, inner, "description", _is_str, "a string", "")
        for key in ("latex", "mathml", "text"):
            check.field(step, inner, key, _is_opt_str, "a string", None)


def _evidence(check: _Checker, claim: dict, where: str) -> None:
    for k, item in enumerate(_dicts(check, claim, where, "evidence")):
        inner = f"{where}['evidence'][{k}]"
        check.field(item, inner, "name", _is_str, "a string", "")
        check.choice(item, inner, "kind", KINDS)
        check.choice(item, inner, "role", ROLES, "statement")
        if "passed" not in item:
            check.fail(inner, item, "has no 'passed' field")
        check.field(item, inner, "passed", _is_bool, "true or false", False)
        check.field(item, inner, "expected", _is_bool, "true or false", True)
        check.field(item, inner, "summary", _is_str, "a string", "")
        check.field(item, inner, "error", _is_opt_str, "a string", None)


def _counterexamples(check: _Checker, claim: dict, where: str) -> None:
    for k, item in enumerate(_dicts(check, claim, where, "counterexamples")):
        inner = f"{where}['counterexamples'][{k}]"
        check.field(item, inner, "quantity", _is_str, "a string", "")
        check.field(item, inner, "X", _is_list, "a list of rows", [])
        check.field(item, inner, "M", _is_list, "a list of matrices", [])
        for key in ("kernel", "norm", "geometry", "note"):
            check.field(item, inner, key, _is_str, "a string", "")
        check.field(item, inner, "value", _is_number_or_str, "a decimal string", "")
        check.field(item, inner, "certified", _is_bool, "true or false", False)
        enclosure = check.field(
            item, inner, "enclosure", _is_list, "a list [lo, hi]", None
        )
        if enclosure is not None and len(enclosure) != 2:
            check.fail(
                f"{inner}['enclosure']", enclosure, "must have two ends [lo, hi]"
            )
        if item.get("head") is not None:
            check.expect(f"{inner}['head']", item["head"], _is_int, "an integer")
        item.setdefault("head", None)
        item.setdefault("beta", None)


def _figures(check: _Checker, claim: dict, where: str) -> None:
    for k, figure in enumerate(_dicts(check, claim, where, "figures")):
        inner = f"{where}['figures'][{k}]"
        for key in ("id", "title", "xlabel", "ylabel", "caption"):
            check.field(figure, inner, key, _is_str, "a string", "")
        check.choice(figure, inner, "kind", FIGURE_KINDS, "lines")
        for key in ("logx", "logy"):
            check.field(figure, inner, key, _is_bool, "true or false", False)
        for j, series in enumerate(_dicts(check, figure, inner, "series")):
            at = f"{inner}['series'][{j}]"
            check.field(series, at, "label", _is_str, "a string", "")
            check.field(series, at, "y", _is_list, "a list", [])
            check.field(series, at, "x", _is_list, "a list", None)
        for j, mark in enumerate(_dicts(check, figure, inner, "marks")):
            at = f"{inner}['marks'][{j}]"
            check.choice(mark, at, "axis", ("x", "y"), "x")
            check.field(mark, at, "label", _is_str, "a string", "")
            if "at" not in mark:
                check.fail(at, mark, "has no 'at' position")
        grid = check.field(figure, inner, "grid", _is_dict, "an object", None)
        if figure["kind"] == "heatmap":
            if grid is None:
                check.fail(inner, figure, "is a heatmap without a 'grid' {x, y, z}")
            for key in ("x", "y", "z"):
                check.field(grid, f"{inner}['grid']", key, _is_list, "a list", [])


def _claim(check: _Checker, claim: Any, where: str) -> None:
    check.expect(where, claim, _is_dict, "an object")
    check.field(claim, where, "id", _is_str, "a string", None)
    if not claim.get("id"):
        check.fail(where, claim.get("id"), "needs a non-empty string 'id'")
    check.choice(claim, where, "status", STATUSES)
    for key in ("title", "scope"):
        check.field(claim, where, key, _is_str, "a string", "")
    check.field(claim, where, "hypotheses", _list_of_str, "a list of strings", [])
    check.field(claim, where, "error", _is_opt_str, "a string", None)
    _statement(check, claim, where)
    _derivation(check, claim, where)
    _evidence(check, claim, where)
    _counterexamples(check, claim, where)
    _figures(check, claim, where)


# ----------------------------------------------------------------------
# public
# ----------------------------------------------------------------------


def validate_claim(claim: Any, *, argument: str = "claim") -> dict:
    """A normalised copy of one claim's result (``ClaimResult.to_json``).

    Raises
    ------
    InvalidArgumentError
        If ``claim`` is not a claim result.
    """
    check = _Checker(argument)
    check.expect(argument, claim, _is_dict, "an object")
    claim = copy.deepcopy(claim)
    _claim(check, claim, argument)
    return claim


def validate_results(obj: Any) -> dict:
    """A normalised copy of a result document, after checking its shape.

    Parameters
    ----------
    obj : dict
        A document as written by ``proofs.runner.results_document``.

    Returns
    -------
    dict
        A deep copy with every optional field present.

    Raises
    ------
    InvalidArgumentError
        With ``argument="results"``, the offending value, and a rule that names
        where in the document it sits, if ``obj`` is not a result document.

    Examples
    --------
    >>> doc = validate_results({"claims": [{"id": "C0", "status": "proved"}]})
    >>> doc["claims"][0]["evidence"], doc["seed"]
    ([], None)
    >>> validate_results({"claim": []})
    Traceback (most recent call last):
    ...
    symbolic.errors.InvalidArgumentError: results={'claim': []}: results has no \
'claims' list...
    """
    check = _Checker("results")
    check.expect("results", obj, _is_dict, "a JSON object")
    if "claims" not in obj:
        check.fail("results", obj, "has no 'claims' list")
    doc = copy.deepcopy(obj)
    where = "results"
    check.field(doc, where, "claims", _is_list, "a list", [])
    for key in ("headflow", "profile", "command", "git_commit"):
        check.field(doc, where, key, _is_opt_str, "a string", None)
    for key in ("seed", "digits"):
        check.field(
            doc, where, key, lambda v: v is None or _is_int(v), "an integer", None
        )
    check.field(doc, where, "options", _is_dict, "an object", {})
    check.field(doc, where, "versions", _is_dict, "an object", {})
    for k, claim in enumerate(doc["claims"]):
        _claim(check, claim, f"results['claims'][{k}]")
    return doc


def validate_provenance(obj: Any) -> dict | None:
    """A normalised copy of a provenance document, or ``None`` for ``None``.

    Raises
    ------
    InvalidArgumentError
        With ``argument="provenance"`` if ``obj`` is not a provenance document.
    """
    if obj is None:
        return None
    check = _Checker("provenance")
    check.expect("provenance", obj, _is_dict, "a JSON object")
    doc = copy.deepcopy(obj)
    for key in ("started", "machine", "processor"):
        check.field(doc, "provenance", key, _is_opt_str, "a string", None)
    check.field(
        doc,
        "provenance",
        "total_seconds",
        lambda v: v is None or _is_number_or_str(v),
        "a number",
        None,
    )
    seconds = check.field(doc, "provenance", "seconds", _is_dict, "an object", {})
    for key, value in seconds.items():
        check.expect(
            f"provenance['seconds'][{key!r}]",
            value,
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "a number of seconds",
        )
    return doc
