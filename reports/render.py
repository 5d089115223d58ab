"""Rendering a result document as HTML, GitHub Markdown or LaTeX.

:func:`render` writes ``report.html`` (one self-contained file: MathML for the
mathematics, inline SVG for the figures, no script and no network access),
``report.md`` (math in ``$$`` blocks, figures as SVG files in ``figures/``) or
``report.tex`` (a standalone article for pdflatex, figures as PDF files in
``figures/``).  :func:`claim_section_html` gives one claim as an HTML fragment,
for notebooks.

The templates live in ``reports/templates``.  Every string taken from the
document is escaped for its format: the HTML environment autoescapes, and the
Markdown and LaTeX environments escape every expression unless the renderer
marked it as already safe (mathematics, text it built itself).  MathML enters
the page only through :func:`reports.mathml.safe_mathml`, SVG only through
:func:`reports.figures.inline_svg`.

Files are written atomically: everything is rendered in memory first, then each
file goes to a temporary name in its directory and is moved into place with
:func:`os.replace`.
"""

from __future__ import annotations

import functools
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup, escape

from proofs._io import atomic_write_bytes
from symbolic.errors import InvalidArgumentError

from . import figures as _figures
from .escaping import (
    MdSafe,
    TexSafe,
    md_escape,
    md_fence,
    strip_math_delimiters,
    tex_escape,
    tex_verbatim,
)
from .mathml import safe_mathml
from .validate import STATUSES, validate_claim, validate_provenance, validate_results

__all__ = ["FORMATS", "claim_section_html", "render", "validate_results"]

#: Report formats :func:`render` writes (``"all"`` writes each of them).
FORMATS = ("html", "md", "tex")

_FILES = {"html": "report.html", "md": "report.md", "tex": "report.tex"}
_FIGURE_FORMAT = {"html": "svg", "md": "svg", "tex": "pdf"}
_KNOWN_FIGURES = ("digits", "samples", "max_error", "enclosure")
_EVIDENCE_FIELDS = {"name", "kind", "role", "passed", "expected", "summary", "error"}
_WIDTH = 88


# ----------------------------------------------------------------------
# Jinja environments
# ----------------------------------------------------------------------


def _tex_finalize(value: Any) -> str:
    return "" if value is None else tex_escape(value)


def _md_finalize(value: Any) -> str:
    return "" if value is None else md_escape(value)


def _tex_breakable(value: Any) -> TexSafe:
    """Escaped text that may break after underscores, commas, slashes, 8 digits."""
    text = tex_escape(value)
    text = re.sub(r"(\\_|,|/|\d{8})", r"\1\\allowbreak{}", text)
    return TexSafe(text)


def _md_code(value: Any, table: bool = True) -> MdSafe:
    """An inline code span; pipes escaped when it sits in a table cell."""
    text = " ".join(str(value).split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    if table:
        text = text.replace("|", "\\|")
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return MdSafe(f"{ticks}{pad}{text}{pad}{ticks}")


def _html_wbr(value: Any) -> Markup:
    """Escaped text with break opportunities after underscores and slashes."""
    return Markup(re.sub(r"([_/])", r"\1<wbr>", str(escape(value))))


def _mathml(markup: Any) -> Markup | None:
    """Checked display MathML, or ``None`` to fall back to the LaTeX source.

    MathML whose identifiers hold backslashes came from symbols named in LaTeX
    (``\\dot{x}``), which MathML would show letter by letter.
    """
    checked = safe_mathml(markup, display=True)
    if checked is None or "\\" in checked:
        return None
    return Markup(checked)


@functools.cache
def _environment(fmt: str) -> jinja2.Environment:
    common = {
        "loader": jinja2.PackageLoader("reports", "templates"),
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
        "undefined": jinja2.StrictUndefined,
    }
    if fmt == "html":
        env = jinja2.Environment(
            autoescape=jinja2.select_autoescape(("html", "html.j2"), default=True),
            **common,
        )
        env.filters["wbr"] = _html_wbr
        return env
    if fmt == "md":
        env = jinja2.Environment(autoescape=False, finalize=_md_finalize, **common)
        env.filters.update(md=md_escape, raw=MdSafe, fence=md_fence, code=_md_code)
        return env
    env = jinja2.Environment(
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((=",
        comment_end_string="=))",
        autoescape=False,
        finalize=_tex_finalize,
        **common,
    )
    env.filters.update(
        tex=tex_escape,
        raw=TexSafe,
        math=lambda v: TexSafe(strip_math_delimiters(str(v))),
        verb=tex_verbatim,
        breakable=_tex_breakable,
    )
    return env


# ----------------------------------------------------------------------
# formatting of values
# ----------------------------------------------------------------------


def _number(value: Any) -> str:
    """A scalar as exact, copyable text: floats in shortest round-trip form."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return json.dumps(value, ensure_ascii=False)
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _wrap_items(items: list[str], indent: int) -> str:
    """``[a, b, ...]`` broken into lines of at most ``_WIDTH`` characters."""
    lines, line, column = [], "[", indent
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else "]")
        fresh = line == "[" or not line.strip()
        if not fresh and column + len(line) + 1 + len(piece) > _WIDTH:
            lines.append(line)
            line, column = " " * (indent + 1) + piece, 0
        else:
            line += piece if fresh else " " + piece
    if not items:
        line += "]"
    lines.append(line)
    return "\n".join(lines)


def _array(value: Any, indent: int) -> str:
    """A nested list as Python source, one innermost row per line."""
    if not isinstance(value, list):
        return _number(value)
    if all(not isinstance(v, list) for v in value):
        return _wrap_items([_number(v) for v in value], indent)
    rows = [_array(v, indent + 1) for v in value]
    return "[" + (",\n" + " " * (indent + 1)).join(rows) + "]"


def _figure_value(key: str, value: Any) -> str:
    """An evidence figure as short text."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return f"{value:.3g}" if key == "max_error" else f"{value:.6g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if key == "enclosure" and isinstance(value, list) and len(value) == 2:
        return f"[{_number(value[0])}, {_number(value[1])}]"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _seconds(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.2f} s"
    return ""


def _slug(text: str, fallback: str = "item") -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60]
    return slug or fallback


def _github_anchor(text: str) -> str:
    """The anchor GitHub gives a Markdown heading with this text."""
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 1
    while candidate in taken:
        k += 1
        candidate = f"{name}-{k}"
    taken.add(candidate)
    return candidate


# ----------------------------------------------------------------------
# views: what the templates show
# ----------------------------------------------------------------------


def _evidence(item: dict) -> dict:
    figures = [(k, item[k]) for k in _KNOWN_FIGURES if item.get(k) is not None]
    figures += [
        (k, v)
        for k, v in item.items()
        if k not in _EVIDENCE_FIELDS and k not in _KNOWN_FIGURES
    ]
    pairs = [(k.replace("_", " "), _figure_value(k, v)) for k, v in figures]
    return {
        "name": item["name"],
        "kind": item["kind"],
        "role": item["role"],
        "passed": item["passed"],
        "expected": item["expected"],
        "summary": item["summary"],
        "error": item["error"],
        "figures": pairs,
        "figures_line": "; ".join(f"{k}: {v}" for k, v in pairs),
    }


def _counterexample(item: dict, number: int) -> dict:
    heading = item["quantity"] or "counterexample"
    if item.get("head") is not None:
        heading += f" (head {item['head']})"
    shape = ", ".join(f"{k}={item[k]}" for k in ("n", "d", "H") if k in item)

    lines = [f"quantity   {item['quantity']}"]
    if item.get("head") is not None:
        lines.append(f"head       {item['head']}")
    lines.append(f"value      {_number(item['value'])}")
    if item["enclosure"] is not None:
        lo, hi = (_number(v) for v in item["enclosure"])
        joint = ", " if len(lo) + len(hi) + 14 <= _WIDTH else ",\n" + " " * 12
        lines.append(f"enclosure  [{lo}{joint}{hi}]")
    rigour = "yes (ball arithmetic)" if item["certified"] else "no"
    lines.append(f"certified  {rigour}")
    lines.append(
        f"model      kernel={item['kernel']}  norm={item['norm']}  "
        f"geometry={item['geometry']}" + (f"  ({shape})" if shape else "")
    )
    if item["note"]:
        lines.append(f"note       {item['note']}")
    lines.append(f"beta = {_array(item['beta'], len('beta = '))}")
    lines.append(f"X = {_array(item['X'], len('X = '))}")
    lines.append(f"M = {_array(item['M'], len('M = '))}")
    if item.get("extra"):
        extra = json.dumps(item["extra"], ensure_ascii=False, sort_keys=True)
        lines.append(f"extra = {extra}")
    return {
        "number": number,
        "heading": heading,
        "certified": item["certified"],
        "block": "\n".join(lines),
    }


def _step(step: dict, number: int, html: bool) -> dict:
    latex = step["latex"]
    return {
        "number": number,
        "description": step["description"],
        "mathml": _mathml(step["mathml"]) if html else None,
        "latex": strip_math_delimiters(latex) if latex else None,
        "text": step["text"],
    }


def _tally(evidence: list[dict]) -> str:
    if not evidence:
        return "no evidence"
    passed = sum(1 for e in evidence if e["passed"])
    return f"{passed} of {len(evidence)} checks passed"


@dataclass
class _Figures:
    """Draws each figure once per file format and remembers the files."""

    fmt: str
    names: dict[tuple[int, int], str]
    files: dict[str, bytes] = field(default_factory=dict)
    drawn: dict[tuple, _figures.Drawing] = field(default_factory=dict)

    def view(self, claim_index: int, anchor: str, k: int, figure: dict) -> dict:
        view = {
            "number": f"{claim_index + 1}.{k + 1}",
            "anchor": f"{anchor}-figure-{k + 1}",
            "title": figure["title"],
            "caption": figure["caption"],
            "svg": None,
            "path": None,
            "error": None,
            "notes": [],
        }
        salt = view["anchor"]
        try:
            key = (json.dumps(figure, sort_keys=True), _FIGURE_FORMAT[self.fmt], salt)
            if key not in self.drawn:
                self.drawn[key] = _figures.draw(figure, key[1], salt=salt)
            drawing = self.drawn[key]
            if self.fmt == "html":
                label = figure["title"] or figure["id"] or "figure"
                view["svg"] = Markup(_figures.inline_svg(drawing.data, salt, label))
            else:
                name = self.names[(claim_index, k)] + "." + _FIGURE_FORMAT[self.fmt]
                self.files[name] = drawing.data
                view["path"] = f"figures/{name}"
            view["notes"] = drawing.notes
        except Exception as exc:  # noqa: BLE001 - a figure that fails is shown as such
            view["error"] = f"{type(exc).__name__}: {exc}"
        return view


def _figure_names(claims: list[dict]) -> dict[tuple[int, int], str]:
    taken: set[str] = set()
    names = {}
    for i, claim in enumerate(claims):
        for k, figure in enumerate(claim["figures"]):
            base = _slug(figure["id"] or f"{claim['id']}-figure-{k + 1}", "figure")
            names[(i, k)] = _unique(base, taken)
    return names


def _claim_view(
    claim: dict, index: int, anchor: str, fmt: str, drawer: _Figures, seconds: Any
) -> dict:
    html = fmt == "html"
    statement = claim["statement"]
    latex = statement.get("latex") or ""
    status = claim["status"]
    return {
        "id": claim["id"],
        "title": claim["title"],
        "status": status,
        "colour": TexSafe("hf" + status.replace("-", "")),
        "anchor": anchor,
        "label": TexSafe(f"claim-{index + 1}"),
        "md_anchor": _github_anchor(f"{claim['id']} {claim['title']}"),
        "scope": claim["scope"],
        "error": claim["error"],
        "seconds": _seconds(seconds),
        "tally": _tally(claim["evidence"]),
        "hypotheses": claim["hypotheses"],
        "statement": {
            "mathml": _mathml(statement.get("mathml")) if html else None,
            "latex": strip_math_delimiters(latex),
        },
        "steps": [_step(s, k + 1, html) for k, s in enumerate(claim["derivation"])],
        "evidence": [_evidence(e) for e in claim["evidence"]],
        "counterexamples": [
            _counterexample(x, k + 1) for k, x in enumerate(claim["counterexamples"])
        ],
        "figures": [
            drawer.view(index, anchor, k, f) for k, f in enumerate(claim["figures"])
        ],
    }


def _command_lines(command: str) -> str:
    """The command, broken at arguments with shell continuations if long."""
    if len(command) <= _WIDTH:
        return command
    try:
        words = [shlex.quote(w) for w in shlex.split(command)]
    except ValueError:
        return command
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > _WIDTH - 2:
            lines.append(line + " \\")
            line = "    " + word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def _context(doc: dict, fmt: str, provenance: dict | None, drawer: _Figures) -> dict:
    seconds = (provenance or {}).get("seconds", {})
    taken: set[str] = {"summary", "provenance"}
    claims = []
    for i, claim in enumerate(doc["claims"]):
        anchor = _unique("claim-" + _slug(claim["id"], str(i + 1)), taken)
        claims.append(
            _claim_view(claim, i, anchor, fmt, drawer, seconds.get(claim["id"]))
        )

    counts = [(s, sum(1 for c in claims if c["status"] == s)) for s in STATUSES]
    told = ", ".join(f"{n} {s}" for s, n in counts if n)
    lead = f"{len(claims)} claim{'s' if len(claims) != 1 else ''}"
    lead += f": {told}." if told else "."
    facts = [
        (label, doc[key])
        for label, key in (
            ("profile", "profile"),
            ("seed", "seed"),
            ("digits", "digits"),
        )
        if doc.get(key) is not None
    ]
    if facts:
        lead += " Run with " + ", ".join(f"{k} {v}" for k, v in facts) + "."

    run = [
        ("headflow", doc["headflow"]),
        ("git commit", doc["git_commit"]),
        ("seed", doc["seed"]),
        ("profile", doc["profile"]),
        ("digits", doc["digits"]),
        ("options", json.dumps(doc["options"], ensure_ascii=False, sort_keys=True)),
    ]
    timings = []
    if provenance is not None:
        run += [
            ("started", provenance["started"]),
            (
                "total wall time",
                _seconds(provenance["total_seconds"]) or provenance["total_seconds"],
            ),
            ("machine", provenance["machine"]),
            ("processor", provenance["processor"]),
        ]
        timings = [(k, f"{v:.2f}") for k, v in provenance["seconds"].items()]
    run = [(k, "unknown" if v is None else str(v)) for k, v in run]
    context = {
        "doc": doc,
        "title": "headflow verification report",
        "lead": lead,
        "claims": claims,
        "timed": bool(seconds),
        "run": run,
        "versions": [(str(k), str(v)) for k, v in doc["versions"].items()],
        "timings": timings,
        "command": _command_lines(doc["command"] or ""),
    }
    return context


# ----------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------


def _render_one(
    doc: dict, fmt: str, provenance: dict | None, names: dict, drawn: dict
) -> tuple[str, dict[str, bytes]]:
    """One report's text and its figure files, drawings shared through ``drawn``."""
    drawer = _Figures(fmt, names, drawn=drawn)
    context = _context(doc, fmt, provenance, drawer)
    template = _environment(fmt).get_template(f"report.{fmt}.j2")
    text = template.render(context)
    if fmt == "md":
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text, drawer.files


def render(
    results: dict,
    fmt: Literal["html", "md", "tex", "all"],
    out_dir: Path | str,
    *,
    provenance: dict | None = None,
) -> list[Path]:
    """Write the report of a result document.

    Parameters
    ----------
    results : dict
        A result document (``proofs.runner.results_document``), checked with
        :func:`validate_results`.
    fmt : {"html", "md", "tex", "all"}
        ``html`` writes ``report.html``; ``md`` writes ``report.md`` and SVG
        figures in ``figures/``; ``tex`` writes ``report.tex`` and PDF figures
        in ``figures/``; ``all`` writes the three.
    out_dir : path
        Directory to write into; created if missing.
    provenance : dict, optional
        The run's provenance document (``proofs.runner.provenance_document``):
        start time, wall time per claim, machine.

    Returns
    -------
    list of Path
        The files written, each report followed by its figures.

    Raises
    ------
    InvalidArgumentError
        If ``fmt`` is not a format, or ``results`` or ``provenance`` does not
        have the shape of its document.

    Notes
    -----
    The same documents give byte-identical files.  Nothing is written until
    every requested report has been rendered in memory, and each file is
    replaced atomically.
    """
    if fmt not in (*FORMATS, "all"):
        raise InvalidArgumentError(
            "fmt", fmt, f"must be one of {', '.join(FORMATS)} or all"
        )
    doc = validate_results(results)
    provenance = validate_provenance(provenance)
    names = _figure_names(doc["claims"])
    chosen = FORMATS if fmt == "all" else (fmt,)

    drawn: dict = {}  # html and md share their SVG drawings
    rendered = [(f, *_render_one(doc, f, provenance, names, drawn)) for f in chosen]

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for f, text, files in rendered:
        figure_paths = []
        if files:
            (out_dir / "figures").mkdir(exist_ok=True)
        for name, data in files.items():
            figure_paths.append(atomic_write_bytes(out_dir / "figures" / name, data))
        written.append(atomic_write_bytes(out_dir / _FILES[f], text.encode("utf-8")))
        written.extend(figure_paths)
    return written


def claim_section_html(claim: dict) -> str:
    """One claim's result as a self-styled HTML fragment.

    Parameters
    ----------
    claim : dict
        A claim result (``ClaimResult.to_json``).

    Returns
    -------
    str
        A ``<div class="headflow">`` holding its own style sheet and the
        claim's section, as in the full report (used by Jupyter's
        ``_repr_html_``).

    Raises
    ------
    InvalidArgumentError
        If ``claim`` does not have the shape of a claim result.
    """
    claim = validate_claim(claim)
    names = _figure_names([claim])
    drawer = _Figures("html", names)
    anchor = "claim-" + _slug(claim["id"], "1")
    view = _claim_view(claim, 0, anchor, "html", drawer, None)
    return _environment("html").get_template("claim.html.j2").render(c=view)
