"""Reports: escaping, self-containment, determinism and the three formats."""

from __future__ import annotations

import copy
import doctest
import re
import shutil
import subprocess

import pytest
import sympy as sp

import reports
from reports import escaping, mathml, render, validate
from proofs import _io
from reports.render import claim_section_html, validate_results
from symbolic.errors import InvalidArgumentError
from symbolic.model import beta, n, s
from symbolic.printing import render as render_expr

HOSTILE = "<script>alert(1)</script>"
NAMESPACES = (
    "http://www.w3.org/1998/Math/MathML",
    "http://www.w3.org/2000/svg",
)


def _document(figures: bool = True) -> dict:
    """A small result document with every part a report shows."""
    x = sp.Symbol("x")
    statement = render_expr(sp.Eq(sp.Derivative(sp.Function("E")(x), x), s**2 / n))
    step = render_expr(sp.exp(beta * s) / n)
    lines = {
        "id": "C1-energy",
        "title": "Energy & time",
        "xlabel": "t",
        "ylabel": "E(t)",
        "kind": "lines",
        "logx": False,
        "logy": True,
        "grid": None,
        "caption": "log scale",
        "series": [
            {"label": "usa & <sphere>", "x": [0.0, 0.5, 1.0], "y": [1.0, 2.0, 4.0]},
            {"label": "$\\beta$ = 2", "x": [0.0, 1.0], "y": [1.5, "nan"]},
        ],
        "marks": [
            {"axis": "x", "at": 0.5, "label": "switch"},
            {"axis": "y", "at": 3.0, "label": ""},
        ],
    }
    bars = {
        "id": "C1-bars",
        "title": "Failures per head",
        "xlabel": "heads",
        "ylabel": "count",
        "kind": "bars",
        "logx": False,
        "logy": False,
        "grid": None,
        "caption": "",
        "series": [
            {"label": "sa", "x": ["H=1", "H=2"], "y": [0, 3]},
            {"label": "usa", "x": ["H=1", "H=2"], "y": [0, 0]},
        ],
        "marks": [{"axis": "y", "at": 1, "label": "budget"}],
    }
    heatmap = {
        "id": "C2 heat/map",
        "title": HOSTILE,
        "xlabel": "beta",
        "ylabel": "t",
        "kind": "heatmap",
        "logx": False,
        "logy": False,
        "caption": HOSTILE,
        "grid": {
            "x": [0.0, 1.0, 2.0],
            "y": [0.0, 1.0],
            "z": [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]],
            "label": "rate",
        },
        "series": [],
        "marks": [{"axis": "x", "at": 1.0, "label": "c = s"}],
    }
    evidence = [
        {
            "name": "sum_of_squares_identity",
            "kind": "symbolic",
            "role": "statement",
            "passed": True,
            "expected": True,
            "summary": "reduces to 0 for n <= 3",
            "cases": 4,
            "scope": "n <= 3",
        },
        {
            "name": "high_precision",
            "kind": "high-precision",
            "role": "statement",
            "passed": True,
            "expected": True,
            "summary": "agrees to 30 digits",
            "digits": 30,
            "samples": 12,
            "max_error": 1.2345e-31,
            "enclosure": ["0.125", "0.126"],
        },
        {
            "name": "softmax_two_heads",
            "kind": "counterexample",
            "role": "boundary",
            "passed": True,
            "expected": True,
            "summary": "E decreases for sa, H = 2",
        },
    ]
    counterexample = {
        "quantity": "dE/dt",
        "X": [[1.0, 0.0], [0.6, 0.8], [0.0, -1.0]],
        "M": [[[1.0, 0.5], [0.5, -1.0]], [[0.25, 0.0], [0.0, 2.0]]],
        "beta": 2.0,
        "kernel": "exp",
        "norm": "sa",
        "geometry": "sphere",
        "value": "-0.0123",
        "enclosure": ["-0.01231", "-0.01229"],
        "certified": True,
        "n": 3,
        "d": 2,
        "H": 2,
        "head": 1,
    }
    first = {
        "id": "C1",
        "title": "Energy monotonicity",
        "status": "holds-in-regime",
        "scope": "usa weights, symmetric M_h; fails for sa with H >= 2",
        "hypotheses": ["every M_h is symmetric", "weights are usa: w = phi(s)/n"],
        "statement": {
            "latex": r"\frac{dE}{dt} = \frac{1}{n}\sum_i |\dot x_i|^2",
            **{k: v for k, v in statement.items() if k != "latex"},
        },
        "derivation": [
            {"description": "chain rule", **step},
            {"description": "only LaTeX", "latex": r"a_{ij} \ge 0"},
        ],
        "evidence": evidence,
        "counterexamples": [counterexample],
        "figures": [lines, bars],
        "error": None,
    }
    second = {
        "id": "C2&<x>",
        "title": f"Shadows {HOSTILE}",
        "status": "error",
        "scope": "",
        "hypotheses": [f"label with &<> and {HOSTILE}"],
        "statement": {"latex": r"\dot E_h \ge 0"},
        "derivation": [],
        "figures": [heatmap],
        "counterexamples": [],
        "evidence": [
            {
                "name": "broken",
                "kind": "numeric",
                "role": "statement",
                "passed": False,
                "expected": True,
                "summary": "check raised",
                "error": f"ValueError: {HOSTILE}",
            }
        ],
        "error": f"ValueError: {HOSTILE} 100% of $x_1$ # ~ ^ \\ {{}}",
    }
    if not figures:
        first["figures"], second["figures"] = [], []
    return {
        "headflow": "0.1.0",
        "seed": 7,
        "profile": "quick",
        "digits": 30,
        "options": {},
        "command": "headflow verify --seed 7 --profile quick",
        "versions": {"python": "3.11.7", "sympy": "1.14.0"},
        "git_commit": "0123456789abcdef",
        "claims": [first, second],
    }


PROVENANCE = {
    "started": "2026-01-01T00:00:00+00:00",
    "total_seconds": 3.5,
    "seconds": {"C1": 1.25, "C2&<x>": 2.25},
    "machine": "Linux",
    "processor": "x86_64",
}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    paths = render.render(_document(), "all", out, provenance=PROVENANCE)
    return out, paths


def test_reports_package_exports_the_claim_renderer():
    """``reports.render_claim_html`` reaches ``render.claim_section_html``."""
    claim = _document()["claims"][0]
    claim["figures"] = claim["figures"][1:]
    html = reports.render_claim_html(claim)

    assert html.startswith('<div class="headflow">')
    assert "<math" in html and "<svg" in html


def test_render_all_writes_each_report_and_its_figures(written):
    """``all`` writes the three reports, SVG figures for md, PDF figures for tex."""
    out, paths = written
    names = sorted(p.relative_to(out).as_posix() for p in paths)

    assert names == sorted(
        [
            "report.html",
            "report.md",
            "report.tex",
            "figures/C1-energy.svg",
            "figures/C1-bars.svg",
            "figures/C2-heat-map.svg",
            "figures/C1-energy.pdf",
            "figures/C1-bars.pdf",
            "figures/C2-heat-map.pdf",
        ]
    )
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_html_typesets_every_statement_and_step_as_mathml(written):
    """One ``<math>`` per MathML statement and step; LaTeX-only ones as code."""
    html = (written[0] / "report.html").read_text()

    assert html.count('<math xmlns="http://www.w3.org/1998/Math/MathML"') == 2
    assert html.count("</math>") == 2
    assert '<code class="latex">a_{ij} \\ge 0</code>' in html
    assert '<code class="latex">\\dot E_h \\ge 0</code>' in html


def test_html_escapes_user_text_and_holds_no_script(written):
    """Hostile titles, labels and errors appear escaped; no script element."""
    html = (written[0] / "report.html").read_text()

    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    assert "C2&amp;&lt;x&gt;" in html
    assert "label with &amp;&lt;&gt;" in html
    assert not re.search(r"\son[a-z]+\s*=", html)


def test_html_is_self_contained(written):
    """No URL but XML namespaces, images only as data URIs, no external refs."""
    html = (written[0] / "report.html").read_text()
    urls = re.findall(r"https?://[^\s\"'<>)]+", html)
    sources = re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", html)

    assert set(urls) <= set(NAMESPACES)
    assert all(src.startswith("data:") for src in sources)
    assert not re.search(r"<link\b|@import|url\((?!#)", html)
    assert html.count("<svg ") == 3
    assert "default-src 'none'" in html


def test_html_shows_evidence_counterexamples_and_provenance(written):
    """Evidence figures, a copyable configuration and the run's provenance."""
    html = (written[0] / "report.html").read_text()

    for text in (
        "sum_<wbr>of_<wbr>squares_<wbr>identity",
        "1.23e-31",
        "[0.125, 0.126]",
        "X = [[1.0, 0.0],",
        "beta = 2.0",
        "certified  yes (ball arithmetic)",
        "headflow verify --seed 7 --profile quick",
        "0123456789abcdef",
        "2026-01-01T00:00:00+00:00",
        "1.25 s",
        "status-holds-in-regime",
        "status-error",
        'href="#claim-C1"',
    ):
        assert text in html, text


def test_html_is_byte_identical_on_rerender(written, tmp_path):
    """Rendering the same documents again gives the same bytes."""
    render.render(_document(), "all", tmp_path, provenance=PROVENANCE)

    for name in (
        "report.html",
        "report.md",
        "report.tex",
        "figures/C1-energy.svg",
        "figures/C1-energy.pdf",
        "figures/C2-heat-map.pdf",
    ):
        assert (tmp_path / name).read_bytes() == (written[0] / name).read_bytes(), name


def test_markdown_has_math_figures_and_escaped_text(written):
    """``$$`` math from the LaTeX fields, relative figure links, GFM tables."""
    out = written[0]
    md = (out / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    prose = re.sub(r"```.*?```|`[^`]*`", "", md, flags=re.DOTALL)

    assert "$$\n\\frac{dE}{dt} = \\frac{1}{n}\\sum_i |\\dot x_i|^2\n$$" in md
    assert "   $$\n   a_{ij} \\ge 0\n   $$" in md
    assert links == [
        "figures/C1-energy.svg",
        "figures/C1-bars.svg",
        "figures/C2-heat-map.svg",
    ]
    assert all((out / link).is_file() for link in links)
    assert not re.search(r"(?<!\\)<script", prose)
    assert "\\<script\\>" in md
    assert "| Check | Kind | Role | Passed | Summary | Figures |" in md


def test_tex_is_an_article_with_escaped_text(written):
    """A standalone article; titles escaped, math verbatim inside gather*."""
    tex = (written[0] / "report.tex").read_text()

    assert tex.startswith("\\documentclass")
    assert "\\begin{document}" in tex and tex.rstrip().endswith("\\end{document}")
    assert "\\section{C1: Energy monotonicity}" in tex
    assert "Shadows \\ensuremath{<}script\\ensuremath{>}alert(1)" in tex
    assert "\\begin{gather*}\n\\frac{dE}{dt} = \\frac{1}{n}\\sum_i |\\dot x_i|^2" in tex
    assert "\\includegraphics[width=0.92\\linewidth]{figures/C1-energy.pdf}" in tex
    assert "\\item label with \\&\\ensuremath{<}\\ensuremath{>} and" in tex
    assert "ValueError: <script>alert(1)</script> 100% of $x_1$" in tex


@pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="pdflatex is not installed"
)
def test_tex_compiles_with_pdflatex(written, tmp_path):
    """pdflatex turns report.tex and its PDF figures into a PDF."""
    shutil.copytree(written[0], tmp_path / "r")
    for _ in range(2):  # the second pass sets the table of contents
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
            cwd=tmp_path / "r",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stdout[-3000:]

    assert (tmp_path / "r" / "report.pdf").stat().st_size > 10_000


def test_claim_section_is_a_styled_fragment():
    """The notebook fragment carries its own scoped style and the figures."""
    html = claim_section_html(_document()["claims"][1])

    assert html.count("<section") == 1 and "<style>" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "could not be drawn" not in html


def test_unsafe_mathml_is_shown_as_text():
    """MathML with a script, a handler or a link is escaped, never inserted."""
    doc = _document(figures=False)
    doc["claims"][0]["statement"]["mathml"] = (
        '<math><mi onmouseover="alert(1)">x</mi></math>'
    )
    doc["claims"][0]["derivation"][0]["mathml"] = "<math><script>1</script></math>"
    html = claim_section_html(doc["claims"][0])

    assert "onmouseover" not in html and "<script" not in html
    assert "<math" not in html
    assert '<code class="latex">\\frac{e^{\\beta s}}{n}</code>' in html
    assert '<code class="latex">\\frac{dE}{dt} = ' in html


def test_mathml_of_latex_named_symbols_falls_back_to_latex():
    """A step whose MathML spells out LaTeX commands is shown as its LaTeX."""
    claim = _document(figures=False)["claims"][0]
    dotted = sp.Symbol(r"\dot{x}_i")
    claim["derivation"] = [
        {
            "description": "rate",
            **render_expr(dotted**2 / n),
            "latex": r"\frac{|\dot x_i|^2}{n}",
        }
    ]
    html = claim_section_html(claim)

    assert html.count("<math") == 1  # the statement only
    assert '<code class="latex">\\frac{|\\dot x_i|^2}{n}</code>' in html


@pytest.mark.parametrize(
    "markup",
    [
        '<math><mi>a</mi></math><img src="x">',
        "<math><mtext><![CDATA[</mtext><script>alert(1)</script>]]></mtext></math>",
        '<math><maction actiontype="toggle"><mi>a</mi></maction></math>',
        '<math href="https://example.org"><mi>a</mi></math>',
        '<math><mi style="background:url(x)">a</mi></math>',
        "<svg><math><mi>a</mi></math></svg>",
        "<math><mi>&undefinedentity;</mi></math>",
        '<math xmlns="http://www.w3.org/2000/svg"><mi>a</mi></math>',
    ],
)
def test_safe_mathml_refuses(markup):
    """Anything but presentation MathML is refused."""
    assert mathml.safe_mathml(markup) is None


def test_safe_mathml_keeps_sympy_output():
    """SymPy's printer output survives; entities numeric, its e a plain e."""
    source = render_expr(sp.exp(beta * s) / n)["mathml"]
    out = mathml.safe_mathml(source)

    assert "&ExponentialE;" in source and "&InvisibleTimes;" in source
    assert out.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML">')
    assert "<msup><mi>e</mi>" in out and "<mi>&#x3B2;</mi><mo>&#x2062;</mo>" in out


def test_broken_figure_data_is_reported_not_raised(tmp_path):
    """A figure whose data cannot be drawn shows its error in the report."""
    doc = _document(figures=False)
    doc["claims"][0]["figures"] = [_document()["claims"][0]["figures"][0]]
    doc["claims"][0]["figures"][0]["series"][0]["y"] = [1.0]
    render.render(doc, "html", tmp_path)
    html = (tmp_path / "report.html").read_text()

    assert "This figure could not be drawn: ValueError: series 0: 3 x values" in html


def test_drawing_warnings_become_notes_under_the_figure():
    """What matplotlib warns about while drawing is shown with the figure."""
    claim = _document()["claims"][0]
    claim["figures"] = [claim["figures"][0]]
    claim["figures"][0]["series"] = [{"label": "", "x": [1.0, 2.0], "y": [-1.0, -2.0]}]
    claim["figures"][0]["marks"] = []
    html = claim_section_html(claim)

    assert "Drawing note: Data has no positive values" in html


@pytest.mark.parametrize(
    "bad, where",
    [
        ([], "must be a JSON object"),
        ({"claim": []}, "has no 'claims' list"),
        ({"claims": {}}, "must be a list"),
        ({"claims": [{"id": "C1"}]}, "'status'] must be one of"),
        ({"claims": [{"id": "C1", "status": "great"}]}, "must be one of"),
        ({"claims": [{"id": "", "status": "proved"}]}, "non-empty string 'id'"),
        (
            {
                "claims": [
                    {
                        "id": "C1",
                        "status": "proved",
                        "evidence": [{"kind": "numeric", "summary": "s"}],
                    }
                ]
            },
            "has no 'passed' field",
        ),
        (
            {
                "claims": [
                    {
                        "id": "C1",
                        "status": "proved",
                        "evidence": [{"kind": "numeric", "passed": "yes"}],
                    }
                ]
            },
            "['passed'] must be true or false",
        ),
        (
            {
                "claims": [
                    {"id": "C1", "status": "proved", "figures": [{"kind": "pie"}]}
                ]
            },
            "['kind'] must be one of lines, bars, heatmap",
        ),
        (
            {
                "claims": [
                    {"id": "C1", "status": "proved", "figures": [{"kind": "heatmap"}]}
                ]
            },
            "heatmap without a 'grid'",
        ),
        (
            {"claims": [{"id": "C1", "status": "proved", "hypotheses": "h"}]},
            "must be a list of strings",
        ),
        ({"seed": "7", "claims": []}, "['seed'] must be an integer"),
    ],
)
def test_validate_results_rejects_bad_documents(bad, where):
    """Each malformed document raises InvalidArgumentError naming the place."""
    with pytest.raises(InvalidArgumentError, match=re.escape(where)) as info:
        validate_results(bad)

    assert info.value.argument == "results"


def test_validate_results_normalises_without_mutating():
    """Missing optional fields get defaults in a copy; the input stays as it was."""
    doc = {"claims": [{"id": "C1", "status": "proved"}]}
    before = copy.deepcopy(doc)
    out = validate_results(doc)

    assert doc == before
    assert out["claims"][0]["statement"] == {"latex": "", "mathml": None}
    assert out["versions"] == {} and out["command"] is None


def test_render_rejects_unknown_format_and_bad_provenance(tmp_path):
    """A wrong format or provenance raises before anything is written."""
    with pytest.raises(InvalidArgumentError, match="fmt='pdf'"):
        render.render(_document(), "pdf", tmp_path)
    with pytest.raises(InvalidArgumentError) as info:
        render.render(_document(), "html", tmp_path, provenance={"seconds": []})

    assert info.value.argument == "provenance"
    assert list(tmp_path.iterdir()) == []


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path, monkeypatch):
    """A failing write keeps the old report and leaves no temporary file."""
    render.render(_document(figures=False), "md", tmp_path)
    old = (tmp_path / "report.md").read_bytes()

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(_io.os, "replace", broken)
    doc = _document(figures=False)
    doc["claims"][0]["title"] = "changed"
    with pytest.raises(OSError, match="disk full"):
        render.render(doc, "md", tmp_path)
    monkeypatch.undo()
    render.render(_document(figures=False), "html", tmp_path)
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]

    assert (tmp_path / "report.md").read_bytes() == old
    assert leftovers == []


def test_tex_escape_covers_every_special_character():
    """Each TeX special character becomes a command that typesets it."""
    out = escaping.tex_escape("& % $ # _ { } ~ ^ \\")

    assert out == (
        "\\& \\% \\$ \\# \\_ \\{ \\} \\textasciitilde{} "
        "\\textasciicircum{} \\ensuremath{\\backslash}"
    )
    assert escaping.tex_escape("β ≤ 1 – é") == (
        "\\ensuremath{\\beta} \\ensuremath{\\le} 1 -- \\'{e}"
    )


@pytest.mark.parametrize("module", [escaping, mathml, validate])
def test_doctests_of_report_modules(module):
    """The examples in the reports modules' docstrings hold."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)

    assert result.attempted > 0 and result.failed == 0
