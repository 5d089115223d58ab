"""Drawing of figure data with matplotlib, byte for byte the same every time.

A figure in a result document is data only (see ``proofs.framework.Figure``):
``kind`` is ``"lines"`` (``series`` of ``{label, x, y}``), ``"bars"`` (``x``
holds category labels; several series stand side by side) or ``"heatmap"``
(``grid = {x, y, z}`` with ``z[i][j]`` the value at ``(x[j], y[i])``, optional
``grid["label"]`` for the colour bar and ``grid["logz"]``); ``marks`` are
reference lines ``{axis: "x" | "y", at, label}``; ``logx`` and ``logy`` switch
the axes to log scale.

Figures are drawn on a :class:`matplotlib.figure.Figure` attached to the Agg
canvas, never through :mod:`matplotlib.pyplot`, so drawing changes neither the
global backend nor the open figures of the caller.  The style is matplotlib's
default with fixed overrides, whatever the user's ``matplotlibrc`` says; SVG
output uses a fixed hash salt and carries no date, PDF and PNG no creator or
date, so the same data give the same bytes.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Drawing", "draw", "inline_svg"]

Format = Literal["svg", "png", "pdf"]

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies
_COLOURS = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
]
_MARK_STYLES = [(0, (5, 3)), (0, (1, 2)), (0, (6, 2, 1, 2)), (0, (3, 1))]

_STYLE = {
    "svg.fonttype": "none",
    "pdf.fonttype": 3,
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "legend.fontsize": 8.0,
    "legend.framealpha": 0.85,
    "lines.linewidth": 1.5,
    "lines.markersize": 3.5,
    "image.cmap": "viridis",
    "text.usetex": False,
    "path.simplify": False,
}

_METADATA = {
    "svg": {"Date": None, "Creator": None, "Format": None, "Type": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "png": {"Software": None},
}


@dataclass
class Drawing:
    """A figure drawn in one format, with what matplotlib said while drawing."""

    data: bytes
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------
# data
# ----------------------------------------------------------------------


def _number(value) -> float:
    """A plotted value: JSON numbers, or strings such as ``"nan"``, ``"inf"``."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return float(value)  # decimal strings and "nan" / "inf" / "-inf"
    raise TypeError(f"cannot plot {type(value).__name__} value {value!r}")


def _numbers(values, what: str) -> list[float]:
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise TypeError(
            f"{what} must be a list of numbers, got {type(values).__name__}"
        )
    return [_number(v) for v in values]


_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def _label(text) -> str:
    """Text for matplotlib: mathtext where it parses, literal text otherwise."""
    text = "" if text is None else str(text)
    dollars = len(_UNESCAPED_DOLLAR.findall(text))
    if dollars == 0 or dollars % 2:
        return text
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(text)
    except ValueError:
        return _UNESCAPED_DOLLAR.sub(r"\\$", text)
    return text


# ----------------------------------------------------------------------
# kinds
# ----------------------------------------------------------------------


def _marks(ax, marks, handles, labels, *, position=None, colour="0.3") -> None:
    from matplotlib import patheffects

    for k, mark in enumerate(marks or []):
        at = position(mark.get("at")) if position else _number(mark.get("at"))
        style = {
            "color": colour,
            "linewidth": 1.0,
            "linestyle": _MARK_STYLES[k % len(_MARK_STYLES)],
        }
        if colour == "white":  # on a colour map: outline so it shows everywhere
            style["linewidth"] = 1.3
            style["path_effects"] = [
                patheffects.withStroke(linewidth=2.6, foreground="black")
            ]
        if mark.get("axis", "x") == "y":
            line = ax.axhline(at, **style)
        else:
            line = ax.axvline(at, **style)
        if mark.get("label"):
            handles.append(line)
            labels.append(_label(mark["label"]))


def _lines(fig, ax, figure, handles, labels) -> None:
    for k, series in enumerate(figure.get("series") or []):
        y = _numbers(series.get("y", []), "series y")
        x = series.get("x")
        x = list(range(len(y))) if x is None else _numbers(x, "series x")
        if len(x) != len(y):
            raise ValueError(f"series {k}: {len(x)} x values but {len(y)} y values")
        style = {"color": _COLOURS[k % len(_COLOURS)]}
        kind = str(series.get("style", ""))
        if kind in {"points", "markers", "scatter", "o", "."}:
            style.update(linestyle="none", marker="o")
        elif kind in {"-", "--", ":", "-.", "solid", "dashed", "dotted", "dashdot"}:
            style["linestyle"] = kind
        if len(y) <= 25 and "marker" not in style:
            style["marker"] = "o"
        (line,) = ax.plot(x, y, **style)
        if series.get("label"):
            handles.append(line)
            labels.append(_label(series["label"]))
    _marks(ax, figure.get("marks"), handles, labels)


def _bars(fig, ax, figure, handles, labels) -> None:
    all_series = figure.get("series") or []
    categories: list[str] = []
    for series in all_series:
        for x in series.get("x", []):
            if str(x) not in categories:
                categories.append(str(x))
    width = 0.8 / max(1, len(all_series))
    for k, series in enumerate(all_series):
        xs = [str(x) for x in series.get("x", [])]
        ys = _numbers(series.get("y", []), "series y")
        if len(xs) != len(ys):
            raise ValueError(f"series {k}: {len(xs)} categories but {len(ys)} values")
        offset = (k - (len(all_series) - 1) / 2) * width
        positions = [categories.index(x) + offset for x in xs]
        bars = ax.bar(
            positions, ys, width=width * 0.95, color=_COLOURS[k % len(_COLOURS)]
        )
        if series.get("label"):
            handles.append(bars)
            labels.append(_label(series["label"]))
    long = sum(len(c) for c in categories) > 60
    ax.set_xticks(
        range(len(categories)),
        [_label(c) for c in categories],
        rotation=30 if long else 0,
        ha="right" if long else "center",
    )
    ax.grid(False, axis="x")

    def position(at):
        return float(categories.index(at)) if at in categories else _number(at)

    _marks(ax, figure.get("marks"), handles, labels, position=position)


def _heatmap(fig, ax, figure, handles, labels) -> None:
    import numpy as np
    from matplotlib.colors import LogNorm

    grid = figure.get("grid") or {}
    x = _numbers(grid.get("x", []), "grid x")
    y = _numbers(grid.get("y", []), "grid y")
    rows = grid.get("z", [])
    z = np.array([_numbers(row, "grid z row") for row in rows], dtype=float)
    if (
        z.ndim != 2
        or z.shape[0] not in (len(y), len(y) - 1)
        or z.shape[1] not in (len(x), len(x) - 1)
    ):
        raise ValueError(
            f"grid z has shape {z.shape}; expected (len(y), len(x)) = "
            f"({len(y)}, {len(x)})"
        )
    z = np.ma.masked_invalid(z)
    norm = LogNorm() if grid.get("logz") else None
    mesh = ax.pcolormesh(x, y, z, shading="auto", norm=norm)
    colourbar = fig.colorbar(mesh, ax=ax)
    if grid.get("label"):
        colourbar.set_label(_label(grid["label"]))
    ax.grid(False)
    _marks(ax, figure.get("marks"), handles, labels, colour="white")


_KINDS = {"lines": _lines, "bars": _bars, "heatmap": _heatmap}


# ----------------------------------------------------------------------
# drawing
# ----------------------------------------------------------------------


def draw(figure: dict, fmt: Format, *, salt: str = "headflow") -> Drawing:
    """Draw one figure of a result document.

    Parameters
    ----------
    figure : dict
        A figure as written by ``Figure.to_json``.
    fmt : {"svg", "png", "pdf"}
    salt : str
        Seed of the SVG element ids; give each figure of a page its own.

    Returns
    -------
    Drawing
        The file's bytes and, as text, the warnings about the data that
        matplotlib raised while drawing (a log axis without positive data, a
        glyph missing from the font).

    Raises
    ------
    ValueError, TypeError
        If the figure's data cannot be drawn (ragged series, a grid of the
        wrong shape, values that are not numbers).
    """
    import matplotlib
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kind = figure.get("kind", "lines")
    if kind not in _KINDS:
        raise ValueError(
            f"unknown figure kind {kind!r}; expected one of {sorted(_KINDS)}"
        )

    with (
        warnings.catch_warnings(record=True) as caught,
        matplotlib.style.context("default"),
        matplotlib.rc_context({**_STYLE, "svg.hashsalt": salt}),
    ):
        warnings.simplefilter("always")
        fig = Figure(
            figsize=(6.4, 3.6 if kind != "heatmap" else 4.2), layout="constrained"
        )
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        handles: list = []
        labels: list[str] = []
        _KINDS[kind](fig, ax, figure, handles, labels)

        if figure.get("logx"):
            ax.set_xscale("log")
        if figure.get("logy"):
            ax.set_yscale("log")
        ax.set_title(_label(figure.get("title", "")))
        ax.set_xlabel(_label(figure.get("xlabel", "")))
        ax.set_ylabel(_label(figure.get("ylabel", "")))
        if handles:
            ax.legend(handles, labels, loc="best")

        buffer = io.BytesIO()
        fig.savefig(
            buffer, format=fmt, metadata=_METADATA[fmt], dpi=150 if fmt == "png" else 72
        )
    # warnings about the data become notes; the rest (deprecations) go on
    notes: list[str] = []
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            if str(w.message) not in notes:
                notes.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return Drawing(buffer.getvalue(), notes)


_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_ACTIVE = {
    "script",
    "foreignObject",
    "iframe",
    "object",
    "embed",
    "a",
    "animate",
    "set",
    "handler",
    "listener",
    "feImage",
}
_LOCAL_URL = re.compile(r"url\(#([^()]*)\)")


def _check_passive(root) -> None:
    """Raise unless the SVG is static: no scripts, handlers or outside links."""
    for element in root.iter():
        name = str(element.tag).rsplit("}", 1)[-1]
        if name in _ACTIVE:
            raise ValueError(f"the drawn SVG holds a <{name}> element")
        for key, value in element.attrib.items():
            key = key.rsplit("}", 1)[-1].lower()
            if key.startswith("on"):
                raise ValueError(f"the drawn SVG has an event handler {key!r}")
            embedded = name == "image" and value.startswith("data:image/png;base64,")
            if key == "href" and not (value.startswith("#") or embedded):
                raise ValueError(f"the drawn SVG links to {value!r}")
            if "url(" in _LOCAL_URL.sub("", value):
                raise ValueError(f"the drawn SVG refers to {value!r}")


def inline_svg(svg: bytes, prefix: str, label: str) -> str:
    """SVG from :func:`draw` made ready to sit inside an HTML page.

    Parses the SVG, refuses it if anything in it is active, drops metadata
    and comments, prefixes every element id with ``prefix`` (figures on one
    page must not share ids), scopes matplotlib's style sheet to this figure,
    labels it for screen readers, and writes it out again.

    Raises
    ------
    ValueError
        If the SVG holds anything active (a script, an event handler, a link
        out of the figure), which matplotlib never writes.
    """
    import xml.etree.ElementTree as ET

    text = svg.decode("utf-8")
    if "<!ENTITY" in text:
        raise ValueError("the drawn SVG declares entities; refusing to embed it")
    root = ET.fromstring(text)
    _check_passive(root)

    def local(match: re.Match) -> str:
        return f"url(#{prefix}-{match.group(1)})"

    for parent in root.iter():
        for child in list(parent):
            if str(child.tag).endswith("}metadata"):
                parent.remove(child)
    for element in root.iter():
        if _XLINK_HREF in element.attrib:
            element.set("href", element.attrib.pop(_XLINK_HREF))
        for key, value in list(element.attrib.items()):
            if key == "id" or (key == "href" and value.startswith("#")):
                value = (
                    ("#" if key == "href" else "") + prefix + "-" + value.lstrip("#")
                )
            element.set(key, _LOCAL_URL.sub(local, value))
        if str(element.tag).endswith("}style") and element.text:
            element.text = element.text.replace("*{", f"#{prefix} *{{")

    attributes = {"id": prefix, "class": "plot", "role": "img", "aria-label": label}
    for key, value in attributes.items():
        root.set(key, value)
    out: list[str] = []
    _write_svg(root, out, top=True)
    return "".join(out)


def _escape_xml(text: str, quote: bool = False) -> str:
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        out = out.replace('"', "&quot;").replace("\n", "&#10;")
    return out


def _write_svg(element, out: list[str], *, top: bool = False) -> None:
    namespace, _, name = str(element.tag).rpartition("}")
    if namespace.lstrip("{") != _SVG_NS:
        raise ValueError(f"the drawn SVG holds a foreign element {element.tag!r}")
    attributes = [f' xmlns="{_SVG_NS}"'] if top else []
    for key, value in element.attrib.items():
        if "}" in key:
            raise ValueError(f"the drawn SVG has a foreign attribute {key!r}")
        attributes.append(f' {key}="{_escape_xml(value, quote=True)}"')
    out.append(f"<{name}{''.join(attributes)}>{_escape_xml(element.text or '')}")
    for child in element:
        _write_svg(child, out)
        out.append(_escape_xml(child.tail or ""))
    out.append(f"</{name}>")
