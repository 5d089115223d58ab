"""Printing of derived expressions: LaTeX, presentation MathML, text, unicode."""

from __future__ import annotations

import sympy as sp

__all__ = ["render"]


def render(expr) -> dict[str, str]:
    """The forms of ``expr`` that reports and the terminal show.

    Returns
    -------
    dict
        ``latex``, ``mathml`` (a complete ``<math>`` element), ``text`` and
        ``pretty`` (unicode).

    Examples
    --------
    >>> from symbolic.model import s, beta
    >>> render(sp.exp(beta * s))["latex"]
    'e^{\\\\beta s}'
    >>> render(sp.exp(beta * s))["mathml"].startswith('<math')
    True
    """
    expr = sp.sympify(expr)
    body = sp.mathml(expr, printer="presentation")
    return {
        "latex": sp.latex(expr),
        "mathml": f'<math xmlns="http://www.w3.org/1998/Math/MathML">{body}</math>',
        "text": sp.sstr(expr),
        "pretty": sp.pretty(expr, use_unicode=True),
    }
