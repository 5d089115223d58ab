"""Rendering of result documents into HTML, Markdown and LaTeX reports.

Reads the JSON results that :mod:`proofs` produces and turns them into reports
with Jinja2 templates and matplotlib figures.  It computes no mathematics: every
number and expression it shows is already in the results.
"""

__all__ = ["render_report", "render_claim_html", "validate_results"]


def render_report(results, fmt, out_dir, *, provenance=None):
    """Write the report of a result document (see :func:`reports.render.render`)."""
    from .render import render as _render

    return _render(results, fmt, out_dir, provenance=provenance)


def validate_results(obj):
    """Check a result document (see :func:`reports.render.validate_results`)."""
    from .render import validate_results as _validate

    return _validate(obj)


def render_claim_html(claim: dict) -> str:
    """One claim's result as an HTML section (also used by Jupyter)."""
    from .render import claim_section_html

    return claim_section_html(claim)
