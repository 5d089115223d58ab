"""Printing of derived expressions: LaTeX, presentation MathML, text, unicode."""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.mathml import MathMLPresentationPrinter

__all__ = ["render", "mathml"]


class _Presentation(MathMLPresentationPrinter):
    """SymPy's presentation MathML with two readings corrected.

    Undefined functions keep their names as symbols do (``Phi_h`` prints as a
    capital Phi with subscript h, not as ``phi_h``), and a sum over several
    indices prints every index's limits, as nested sums.
    """

    def _print_Function(self, e):
        if not isinstance(e, AppliedUndef):
            return super()._print_Function(e)
        row = self.dom.createElement("mrow")
        row.appendChild(self._print(sp.Symbol(e.func.__name__)))
        fence = self.dom.createElement("mrow")
        for k, text in enumerate(["("] + [None] * len(e.args) + [")"]):
            if text is not None:
                mo = self.dom.createElement("mo")
                mo.appendChild(self.dom.createTextNode(text))
                fence.appendChild(mo)
                continue
            if k > 1:
                comma = self.dom.createElement("mo")
                comma.appendChild(self.dom.createTextNode(","))
                fence.appendChild(comma)
            fence.appendChild(self._print(e.args[k - 1]))
        row.appendChild(fence)
        return row

    def _print_Sum(self, e):
        if len(e.limits) == 1:
            return super()._print_Sum(e)
        # one summation sign per index, outermost first
        row = self.dom.createElement("mrow")
        for limit in reversed(e.limits):
            row.appendChild(
                super()._print_Sum(sp.Sum(sp.Symbol("_"), limit)).firstChild
            )
        body = self._print(e.function)
        row.appendChild(body)
        return row


def mathml(expr) -> str:
    """Presentation MathML of ``expr`` (the body, without ``<math>``)."""
    return _Presentation().doprint(sp.sympify(expr))


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
    body = mathml(expr)
    return {
        "latex": sp.latex(expr),
        "mathml": f'<math xmlns="http://www.w3.org/1998/Math/MathML">{body}</math>',
        "text": sp.sstr(expr),
        "pretty": sp.pretty(expr, use_unicode=True),
    }
