"""Checking and re-serialising presentation MathML before it enters a page.

The result documents carry MathML written by SymPy's presentation printer.  It
is inserted into HTML as markup only after :func:`safe_mathml` has parsed it as
XML and found nothing but presentation MathML elements and layout attributes;
the markup inserted is then written afresh from the parsed tree, so what the
browser sees is exactly what was checked.  Anything else is refused (``None``)
and the caller shows it as text.
"""

from __future__ import annotations

import html.entities
import re
import xml.etree.ElementTree as ET

__all__ = ["MATHML_NS", "safe_mathml"]

MATHML_NS = "http://www.w3.org/1998/Math/MathML"

_ELEMENTS = frozenset(
    [
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msub",
        "msup",
        "msubsup",
        "munder",
        "mover",
        "munderover",
        "mmultiscripts",
        "mprescripts",
        "none",
        "mfrac",
        "msqrt",
        "mroot",
        "mstyle",
        "merror",
        "mpadded",
        "mphantom",
        "menclose",
        "mfenced",
        "mtable",
        "mtr",
        "mtd",
        "mlabeledtr",
        "semantics",
        "annotation",
    ]
)

_ATTRIBUTES = frozenset(
    [
        "display",
        "mathvariant",
        "mathsize",
        "dir",
        "stretchy",
        "symmetric",
        "fence",
        "separator",
        "largeop",
        "movablelimits",
        "accent",
        "accentunder",
        "lspace",
        "rspace",
        "minsize",
        "maxsize",
        "form",
        "linethickness",
        "numalign",
        "denomalign",
        "bevelled",
        "open",
        "close",
        "separators",
        "notation",
        "width",
        "height",
        "depth",
        "voffset",
        "columnalign",
        "rowalign",
        "columnspacing",
        "rowspacing",
        "columnlines",
        "rowlines",
        "frame",
        "framespacing",
        "equalrows",
        "equalcolumns",
        "displaystyle",
        "scriptlevel",
        "columnspan",
        "rowspan",
        "align",
        "side",
        "encoding",
        "alttext",
    ]
)

_XML_ENTITIES = {"lt", "gt", "amp", "quot", "apos"}
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_FORBIDDEN = re.compile(
    r"<[!?]|<\s*script|\bon[a-z]+\s*=|href|javascript:", re.IGNORECASE
)


def _resolve_entities(markup: str) -> str | None:
    """Replace HTML named entities (``&InvisibleTimes;``) by numeric ones."""
    unknown = False

    def replace(match: re.Match) -> str:
        nonlocal unknown
        name = match.group(1)
        if name in _XML_ENTITIES:
            return match.group(0)
        text = html.entities.html5.get(name + ";")
        if text is None:
            unknown = True
            return ""
        return "".join(f"&#x{ord(ch):X};" for ch in text)

    out = _ENTITY.sub(replace, markup)
    return None if unknown else out


# SymPy writes e and d as double-struck italic letters, which few text fonts
# draw well; the page shows the plain letters that the LaTeX source uses.
_PLAIN_LETTERS = str.maketrans(
    {"\u2145": "D", "\u2146": "d", "\u2147": "e", "\u2148": "i", "\u2149": "j"}
)


def _escape(text: str, quote: bool = False) -> str:
    text = text.translate(_PLAIN_LETTERS)
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        out = out.replace('"', "&quot;")
    # non-ASCII as character references: invisible operators stay visible in source
    return "".join(ch if ord(ch) < 128 else f"&#x{ord(ch):X};" for ch in out)


def _local(tag: str) -> str | None:
    """The element name if ``tag`` is in the MathML namespace."""
    prefix = "{" + MATHML_NS + "}"
    return tag[len(prefix) :] if tag.startswith(prefix) else None


def _write(element: ET.Element, out: list[str]) -> bool:
    name = _local(element.tag) if isinstance(element.tag, str) else None
    if name not in _ELEMENTS or len(element.attrib) > 32:
        return False
    attributes = []
    for key, value in sorted(element.attrib.items()):
        if key not in _ATTRIBUTES:
            return False
        attributes.append(f' {key}="{_escape(value, quote=True)}"')
    if name == "math":
        attributes.insert(0, f' xmlns="{MATHML_NS}"')
    out.append(f"<{name}{''.join(attributes)}>")
    out.append(_escape(element.text or ""))
    for child in element:
        if not _write(child, out):
            return False
        out.append(_escape(child.tail or ""))
    out.append(f"</{name}>")
    return True


def safe_mathml(markup: object, *, display: bool = False) -> str | None:
    """Checked MathML ready to insert into HTML, or ``None`` if refused.

    Parameters
    ----------
    markup : str
        A complete ``<math>`` element.
    display : bool
        Typeset as a block (``display="block"``) unless the element says
        otherwise.

    Returns
    -------
    str or None
        The element written afresh from its parse tree, or ``None`` when the
        input is not a single ``<math>`` element of presentation MathML (for
        example when it holds a script, an event-handler attribute, a link,
        a comment or an unknown entity).

    Examples
    --------
    >>> safe_mathml('<math xmlns="http://www.w3.org/1998/Math/MathML">'
    ...             '<mi>&beta;</mi></math>')
    '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>&#x3B2;</mi></math>'
    >>> safe_mathml('<math><mi onclick="x()">a</mi></math>') is None
    True
    """
    if not isinstance(markup, str):
        return None
    text = markup.strip()
    if not (text.startswith("<math") and text.endswith("</math>")):
        return None
    if _FORBIDDEN.search(text):
        return None
    resolved = _resolve_entities(text)
    if resolved is None:
        return None
    try:
        root = ET.fromstring(resolved)
    except (ET.ParseError, ValueError):
        return None
    if root.tag == "math":  # no namespace given: the HTML parser assumes MathML
        for element in root.iter():
            if isinstance(element.tag, str) and "}" not in element.tag:
                element.tag = "{" + MATHML_NS + "}" + element.tag
    if _local(root.tag) != "math":
        return None
    if display and "display" not in root.attrib:
        root.set("display", "block")

    out: list[str] = []
    try:
        ok = _write(root, out)
    except RecursionError:
        return None
    return "".join(out) if ok else None
