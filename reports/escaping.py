"""Escaping of user text for LaTeX and GitHub Markdown, and safe-text markers.

Every string that comes from a result document (titles, ids, labels, summaries,
kernel names) is text, never markup.  The Jinja environments of
:mod:`reports.render` pass every expression through :func:`tex_escape` or
:func:`md_escape` unless it is wrapped in :class:`TexSafe` or :class:`MdSafe`,
which only the renderer does, for mathematics and for text it built itself.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MdSafe",
    "TexSafe",
    "md_escape",
    "md_fence",
    "strip_math_delimiters",
    "tex_escape",
    "tex_verbatim",
]


class TexSafe(str):
    """A string that is already valid LaTeX and is inserted as it is."""


class MdSafe(str):
    """A string that is already valid Markdown and is inserted as it is."""


# ----------------------------------------------------------------------
# LaTeX
# ----------------------------------------------------------------------

_TEX_SPECIAL = {
    "\\": r"\ensuremath{\backslash}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\ensuremath{<}",
    ">": r"\ensuremath{>}",
    "|": r"\ensuremath{|}",
}

_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "varsigma",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
]

# Unicode symbols that pdflatex cannot typeset from UTF-8 without extra packages.
_TEX_UNICODE = {
    chr(0x3B1 + k): rf"\ensuremath{{\{name}}}"
    for k, name in enumerate(_GREEK)
    if name != "omicron"
}
_TEX_UNICODE.update(
    {
        chr(0x391 + k): rf"\ensuremath{{\{name.capitalize()}}}"
        for k, name in enumerate(_GREEK)
        if name
        in {
            "gamma",
            "delta",
            "theta",
            "lambda",
            "xi",
            "pi",
            "sigma",
            "upsilon",
            "phi",
            "psi",
            "omega",
        }
    }
)
_TEX_UNICODE.update(
    {
        "\u03bf": "o",
        "\u03d5": r"\ensuremath{\phi}",
        "\u03c6": r"\ensuremath{\varphi}",
        "\u2264": r"\ensuremath{\le}",
        "\u2265": r"\ensuremath{\ge}",
        "\u2260": r"\ensuremath{\ne}",
        "\u2248": r"\ensuremath{\approx}",
        "\u00b1": r"\ensuremath{\pm}",
        "\u00d7": r"\ensuremath{\times}",
        "\u00b7": r"\ensuremath{\cdot}",
        "\u22c5": r"\ensuremath{\cdot}",
        "\u2212": r"\ensuremath{-}",
        "\u221e": r"\ensuremath{\infty}",
        "\u2211": r"\ensuremath{\sum}",
        "\u220f": r"\ensuremath{\prod}",
        "\u2202": r"\ensuremath{\partial}",
        "\u2207": r"\ensuremath{\nabla}",
        "\u2208": r"\ensuremath{\in}",
        "\u2209": r"\ensuremath{\notin}",
        "\u2282": r"\ensuremath{\subset}",
        "\u2192": r"\ensuremath{\to}",
        "\u2190": r"\ensuremath{\leftarrow}",
        "\u21d2": r"\ensuremath{\Rightarrow}",
        "\u21d4": r"\ensuremath{\Leftrightarrow}",
        "\u27e8": r"\ensuremath{\langle}",
        "\u27e9": r"\ensuremath{\rangle}",
        "\u2016": r"\ensuremath{\|}",
        "\u221a": r"\ensuremath{\surd}",
        "\u2218": r"\ensuremath{\circ}",
        "\u2297": r"\ensuremath{\otimes}",
        "\u00b2": r"\ensuremath{^2}",
        "\u00b3": r"\ensuremath{^3}",
        "\u2013": "--",
        "\u2014": "---",
        "\u2018": "`",
        "\u2019": "'",
        "\u201c": "``",
        "\u201d": "''",
        "\u2026": r"\ldots{}",
        "\u00a0": "~",
    }
)

_TEX_ACCENTS = {
    "\u0300": "`",
    "\u0301": "'",
    "\u0302": "^",
    "\u0303": "~",
    "\u0308": '"',
    "\u0304": "=",
    "\u0327": "c",
    "\u030c": "v",
    "\u030a": "r",
}


def _tex_char(ch: str) -> str:
    if ch in _TEX_SPECIAL:
        return _TEX_SPECIAL[ch]
    if ch in "\n\r\t":
        return " "
    if " " <= ch <= "~":
        return ch
    if ch in _TEX_UNICODE:
        return _TEX_UNICODE[ch]
    base, *marks = unicodedata.normalize("NFD", ch)
    if (
        base.isascii()
        and base.isalpha()
        and len(marks) == 1
        and marks[0] in _TEX_ACCENTS
    ):
        return rf"\{_TEX_ACCENTS[marks[0]]}{{{base}}}"
    return rf"[U+{ord(ch):04X}]"


def tex_escape(value: object) -> TexSafe:
    """LaTeX source that typesets ``value`` as literal text.

    Examples
    --------
    >>> print(tex_escape("50% of a_i & {b} ~ <c>"))
    50\\% of a\\_i \\& \\{b\\} \\textasciitilde{} \\ensuremath{<}c\\ensuremath{>}
    """
    if isinstance(value, TexSafe):
        return value
    return TexSafe("".join(_tex_char(ch) for ch in str(value)))


def tex_verbatim(value: object) -> TexSafe:
    """Text for a ``verbatim`` environment: ASCII only, never ending it early."""
    out = []
    for ch in str(value):
        if ch == "\n" or " " <= ch <= "~":
            out.append(ch)
        elif ch == "\t":
            out.append("    ")
        else:
            out.append(f"[U+{ord(ch):04X}]")
    return TexSafe("".join(out).replace(r"\end{verbatim}", r"\end {verbatim}"))


# ----------------------------------------------------------------------
# Markdown (GitHub flavour)
# ----------------------------------------------------------------------

# characters that start markup in GitHub Markdown: emphasis, code, links,
# raw HTML, entities, headings, table cells, math and strike-through
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|$&~])")


def md_escape(value: object) -> MdSafe:
    """Markdown source that shows ``value`` as literal text on one line.

    Examples
    --------
    >>> print(md_escape("<b>|x|_1</b> & $y$"))
    \\<b\\>\\|x\\|\\_1\\</b\\> \\& \\$y\\$
    """
    if isinstance(value, MdSafe):
        return value
    text = " ".join(str(value).split())
    return MdSafe(_MD_SPECIAL.sub(r"\\\1", text))


def md_fence(text: str) -> MdSafe:
    """A fenced code block holding ``text`` verbatim."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return MdSafe(f"{fence}text\n{text.rstrip()}\n{fence}")


def strip_math_delimiters(latex: str) -> str:
    r"""The body of a formula without ``$``, ``$$``, ``\[ \]`` or ``\( \)``.

    Examples
    --------
    >>> strip_math_delimiters(r"$$ x^2 $$")
    'x^2'
    """
    body = latex.strip()
    for left, right in (("$$", "$$"), (r"\[", r"\]"), (r"\(", r"\)"), ("$", "$")):
        if body.startswith(left) and body.endswith(right) and len(body) > 2 * len(left):
            return body[len(left) : -len(right)].strip()
    return body
