"""The generated pages of the manual: the claims catalogue (one page per paper) and the API reference.

The API reference (reference.md) has one entry per public name of ``iclcheck`` (``iclcheck._API``), each rendered
by mkdocstrings from its docstring at its defining module, so a name added to the API appears without an edit here.

The claims catalogue is generated from the registry: one page per paper.

Each page lists the paper's claims with their statement (as recorded), the provenance of that statement, the
notation map, the verdict of the quick report (seed 0, the same run as docs/VERIFICATION.md), every checked step,
the finding, and the records of the authors' released code. Nothing is written by hand, so the catalogue cannot
drift from the claims.

Used two ways:
- as an MkDocs hook (``hooks:`` in mkdocs.yml): the pages are generated into the build, never into docs/;
- as a script, ``python scripts/docs_hooks.py OUTDIR``, which writes the same pages to OUTDIR to read them.
"""

from __future__ import annotations

import html
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

CATALOGUE = "claims"  # the folder of the generated pages inside the site
_RESULTS: dict[str, dict[str, Any]] | None = None


def _md(text: str) -> str:
    """Plain text as Markdown that renders as itself: HTML escaped, Markdown's inline markers backslashed."""
    text = html.escape(text, quote=False)
    return re.sub(r"([\\`*_{}\[\]|#])", r"\\\1", text)


def _cell(text: Any) -> str:
    return _md(str(text)).replace("\n", " ")


def _results() -> dict[str, dict[str, Any]]:
    """Every built-in claim's result in the quick profile, seed 0 (run once per build)."""
    global _RESULTS
    if _RESULTS is None:
        from iclcheck.proofs.registry import Context, all_claims
        from iclcheck.proofs.report import run_claims

        claims = list(all_claims(plugins=False).values())
        results = run_claims(claims, Context(seed=0, profile="quick"))
        _RESULTS = {r.key: r.to_dict() for r in results}
    return _RESULTS


def _claims() -> dict[str, list[Any]]:
    from iclcheck.proofs.registry import all_claims

    by_paper: dict[str, list[Any]] = defaultdict(list)
    for c in all_claims(plugins=False).values():
        by_paper[c.paper].append(c)
    return {p: sorted(cs, key=lambda c: c.key) for p, cs in sorted(by_paper.items())}


def _verdict_text(res: dict[str, Any], claim: Any) -> str:
    v = res.get("verdict", "not run")
    scope = "as printed" if claim.as_printed else "as recorded"
    text = f"**{v}** {scope}"
    if res.get("released_verdict"):
        text += f"; **{res['released_verdict']}** under the authors' released code"
    return text


def _finding_lines(finding: Any) -> list[str]:
    if not finding:
        return []
    if isinstance(finding, dict):
        return [f"- **{_cell(k).replace('_', ' ')}**: {_cell(v)}" for k, v in finding.items() if v not in (None, "")]
    return [_md(str(finding))]


def claim_section(claim: Any, res: dict[str, Any]) -> str:
    from iclcheck.proofs.registry import PROVENANCE_TAGS
    from iclcheck.proofs.released import released_code

    tags = ", ".join(f"{t} ({PROVENANCE_TAGS[t]})" for t in claim.provenance.split("+"))
    out = [f"## `{claim.key}`: {_md(claim.title)}", "",
           f"Source: {_md(claim.source)}", "",
           f"Provenance of the statement: {_md(tags)}", "",
           f"Verdict (quick profile, seed 0): {_verdict_text(res, claim)}", "",
           "Statement" + (" (as printed):" if claim.as_printed else " (as recorded; not read in the paper's own text):"),
           "", "> " + _md(claim.statement).replace("\n", "\n> "), "",
           "Notation map:", "", "> " + _md(claim.notation).replace("\n", "\n> "), ""]
    if claim.parameters:
        out += [f"Runs at a user's setting: {', '.join(claim.parameters)} "
                f"(`iclcheck verify {claim.key} --cov ...`).", ""]
    finding = _finding_lines(res.get("finding"))
    if finding:
        out += ["### Finding", "", *finding, ""]
    steps = res.get("steps", [])
    if steps:
        out += ["### Checked steps", "", "| step | scope | status | deviation | tolerance |", "|---|---|---|---|---|"]
        for s in steps:
            dev = s.get("deviation")
            tol = s.get("tolerance")
            out.append(f"| {_cell(s.get('name', ''))} | {_cell(s.get('scope', ''))} | {_cell(s.get('status', ''))} "
                       f"| {'' if dev is None else f'{dev:.3g}'} | {'' if tol is None else f'{tol:.3g}'} |")
        out.append("")
    records = released_code(claim.key)
    if records:
        out += ["### The authors' released code", ""]
        for rc in records:
            mark = " (differs from the paper as printed)" if rc.differs else ""
            out.append(f"- `{rc.repo}` at `{rc.commit[:10]}`, `{rc.path}`{mark}: {_md(rc.fact)}")
        out.append("")
    return "\n".join(out)


def pages() -> dict[str, str]:
    """{path inside the site: Markdown text} for the catalogue's index and one page per paper."""
    results = _results()
    by_paper = _claims()
    index = ["# Claims catalogue", "",
             "Every published claim iclcheck checks, one page per paper, generated from the registry and the quick "
             "report (seed 0). A statement whose provenance is not READ (the paper's own text) is checked *as "
             "recorded*: its verdict is about the recorded reading, not about the paper.", "",
             "| paper | claims | verdicts |", "|---|---|---|"]
    out: dict[str, str] = {}
    for paper, claims in by_paper.items():
        verdicts: dict[str, int] = defaultdict(int)
        for c in claims:
            verdicts[results.get(c.key, {}).get("verdict", "not run")] += 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
        index.append(f"| [{paper}]({paper}.md) | {len(claims)} | {summary} |")
        body = [f"# {paper}", "", f"{len(claims)} claim(s). Verdicts: {summary}.", ""]
        body += [claim_section(c, results.get(c.key, {})) for c in claims]
        out[f"{CATALOGUE}/{paper}.md"] = "\n".join(body) + "\n"
    out[f"{CATALOGUE}/index.md"] = "\n".join(index) + "\n"
    return out


def reference_page() -> str:
    """reference.md: the module docstring of iclcheck.api, then every public name at its defining module."""
    import iclcheck

    functions, classes = [], []
    for name in iclcheck._API:
        obj = getattr(iclcheck, name)
        target = f"{obj.__module__}.{obj.__qualname__}"
        (classes if isinstance(obj, type) else functions).append((name, target))
    out = ["# API reference", "",
           "Generated from the docstrings of the names `import iclcheck` exposes (`iclcheck.<name>`). The guide "
           "with a worked tour is [The Python API](api.md).", "",
           "::: iclcheck.api", "    options:", "      members: false", "      show_root_heading: false", "",
           "## Functions", ""]
    for _name, target in functions:
        out += [f"::: {target}", "    options:", "      heading_level: 3", ""]
    out += ["## Results and errors", ""]
    for _name, target in classes:
        out += [f"::: {target}", "    options:", "      heading_level: 3", "      show_root_full_path: false", ""]
    return "\n".join(out)


def paper_keys() -> list[str]:
    return list(_claims())


# --- MkDocs hook -------------------------------------------------------------------------------------------------

def _doctest_extension() -> Any:
    """A Markdown extension that shows a docstring's doctest (``>>>`` lines and their output) as a Python console
    block instead of a nested quotation (the docstrings are plain text with doctests, run by the test suite)."""
    from markdown.extensions import Extension
    from markdown.preprocessors import Preprocessor

    class DoctestFence(Preprocessor):
        def run(self, lines: list[str]) -> list[str]:
            out: list[str] = []
            block: list[str] = []
            for line in [*lines, ""]:
                stripped = line.lstrip()
                if stripped.startswith(">>>") or (block and stripped and not stripped.startswith("```")):
                    block.append(line)
                    continue
                if block:
                    out += ["", "```pycon", *block, "```", ""]
                    block = []
                out.append(line)
            return out[:-1]

    class DoctestExtension(Extension):
        def extendMarkdown(self, md: Any) -> None:  # noqa: N802 (Markdown's API)
            md.preprocessors.register(DoctestFence(md), "iclcheck_doctest", 40)

    return DoctestExtension()


def on_config(config: Any) -> Any:
    """Insert the catalogue's pages into the navigation (the index first, then one entry per paper), and show
    doctests as console blocks."""
    config["markdown_extensions"].append(_doctest_extension())
    entries = [{"Overview": f"{CATALOGUE}/index.md"}] + [{p: f"{CATALOGUE}/{p}.md"} for p in paper_keys()]
    nav = config["nav"] or []
    for i, item in enumerate(nav):
        if isinstance(item, dict) and "Claims catalogue" in item:
            nav[i] = {"Claims catalogue": entries}
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, text in pages().items():
        files.append(File.generated(config, path, content=text))
    files.append(File.generated(config, "reference.md", content=reference_page()))
    return files


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/docs_hooks.py OUTDIR")
    root = Path(sys.argv[1])
    for rel, text in pages().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    print(f"wrote {len(pages())} pages to {root}")
