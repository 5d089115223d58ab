"""Rendering of result documents into HTML, Markdown and LaTeX reports.

Reads the JSON results that :mod:`proofs` produces and turns them into reports
with Jinja2 templates and matplotlib figures.  It computes no mathematics: every
number and expression it shows is already in the results.
"""

__all__ = ["render_claim_html"]


def render_claim_html(claim: dict) -> str:
    """One claim's result as an HTML section (also used by Jupyter)."""
    from .render import claim_section_html

    return claim_section_html(claim)
