"""Sphinx extension of this site: writes the generated pages and links names.

On ``builder-inited`` it writes the folders ``docs/api``, ``docs/lessons``
and ``docs/claims`` (generated, not in git; each file is rewritten only when
its text changes, so an unchanged page is not read again):

- ``api/*.rst``: one page per public module, one entry per name of the
  module's ``__all__`` (so a name added to ``__all__`` appears without an edit
  here). Names defined in this package are documented by autodoc from their
  docstrings; a public name without a docstring is an error. Names that are
  re-exported from Optax get a short entry saying so (their docstrings belong
  to Optax); names re-exported from another documented module link to it.
- ``lessons/*.ipynb``: copies of the committed notebooks in ``notebooks/``,
  which myst-nb executes (and caches) while it reads them.
- ``claims/*.md``: one page per claim of ``jaxopt_lessons.lessons``, from the
  report and plots of ``python -m jaxopt_lessons`` that ``make docs`` writes
  to ``docs/_build/claims``.

It also defines the role ``jol-soft`` (the site's default role): a name in
single backticks links to its entry when one exists (``jol.adam`` is read as
``jaxopt_lessons.adam``) and prints as code otherwise, without a warning;
explicit roles (``:func:``, ``:class:``) stay strict.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import pathlib
import re
import shutil
import textwrap
from typing import Any

from sphinx.application import Sphinx
from sphinx.domains.python import PyXRefRole
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

logger = logging.getLogger(__name__)

DOCS = pathlib.Path(__file__).resolve().parent.parent
ROOT = DOCS.parent

PACKAGE = "jaxopt_lessons"


# ---------------------------------------------------------------- writing files


def _write(path: pathlib.Path, text: str) -> None:
    """Writes `text` unless the file already holds it (keeps its mtime)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.write_text(text, encoding="utf-8")


def _copy(src: pathlib.Path, dst: pathlib.Path) -> None:
    """Copies `src` unless `dst` already has the same bytes."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() and dst.read_bytes() == src.read_bytes():
        return
    shutil.copyfile(src, dst)


def _prune(folder: pathlib.Path, keep: set[pathlib.Path]) -> None:
    """Removes files of `folder` that this run did not write (renamed pages)."""
    if folder.exists():
        for path in folder.iterdir():
            if path.is_file() and path not in keep:
                path.unlink()


# ------------------------------------------------------------------- API pages


@dataclasses.dataclass
class Section:
    title: str
    names: list[str]
    intro: str = ""


@dataclasses.dataclass
class Page:
    slug: str
    title: str
    module: str
    sections: list[Section]
    show_module_doc: bool = True
    intro: str = ""


def _split(all_names: list[str], *groups: tuple[str, list[str], str]) -> list[Section]:
    """Sections of `all_names` in `groups` order; the rest under "Other names"."""
    seen: set[str] = set()
    sections = []
    for title, names, intro in groups:
        chosen = [n for n in names if n in all_names and n not in seen]
        seen.update(chosen)
        if chosen:
            sections.append(Section(title, chosen, intro))
    rest = [n for n in all_names if n not in seen]
    if rest:
        sections.append(Section("Other names", rest))
    return sections


def _pages() -> list[Page]:
    """The API pages, built from the modules' ``__all__`` lists."""
    jol = importlib.import_module(PACKAGE)
    optimizers = importlib.import_module(f"{PACKAGE}.optimizers")
    transforms = importlib.import_module(f"{PACKAGE}.transforms")
    top = list(jol.__all__)
    blocks = [n for n in transforms.__all__ if n[0].islower()]
    states = [n for n in transforms.__all__ if not n[0].islower()]
    pages = [
        Page(
            "jaxopt_lessons",
            "jaxopt_lessons",
            PACKAGE,
            _split(
                [
                    n
                    for n in top
                    if n not in optimizers.__all__ and n not in transforms.__all__
                ],
                (
                    "Faster execution",
                    list(getattr(jol, "_VERBS", [])),
                    "Re-exported from :doc:`grouping` and :doc:`training`.",
                ),
                ("Name lists", ["OPTIMIZERS", "TRANSFORMS"], ""),
                (
                    "Plumbing from Optax",
                    list(getattr(jol, "_PLUMBING", [])),
                    "Optax's own objects, re-exported so that one import is enough; "
                    "their full documentation is Optax's.",
                ),
            ),
            intro="The optimizers and building blocks of the top level have their "
            "own pages: :doc:`optimizers`, :doc:`transforms`.",
        ),
        Page(
            "optimizers",
            "Optimizers",
            PACKAGE,
            [
                Section(
                    "Optimizers",
                    list(optimizers.__all__),
                    "Each factory returns an ``optax.GradientTransformation`` "
                    "(learning rate first); the update rules are in the "
                    ":doc:`building blocks <transforms>` each docstring names.",
                )
            ],
            show_module_doc=False,
        ),
        Page(
            "transforms",
            "Building blocks",
            PACKAGE,
            [
                Section(
                    "Transforms",
                    blocks,
                    "The update rules, one idea per file: each is an "
                    "``optax.GradientTransformation`` that the optimizers chain.",
                ),
                Section(
                    "State classes",
                    states,
                    "The states of the blocks. Where a block's state has "
                    "Optax's layout the class is Optax's own, so states and "
                    "checkpoints move between the two libraries.",
                ),
            ],
            show_module_doc=False,
        ),
    ]
    torch = importlib.import_module(f"{PACKAGE}.torch")
    presets = list(getattr(torch, "PRESETS", ()))
    schedules = list(getattr(torch, "SCHEDULES", ()))
    pages.append(
        Page(
            "torch",
            "jaxopt_lessons.torch",
            f"{PACKAGE}.torch",
            _split(
                list(torch.__all__),
                ("Presets", presets, ""),
                ("Learning-rate schedules", schedules, ""),
                ("State classes", [n for n in torch.__all__ if n[0].isupper()], ""),
            ),
        )
    )
    for name in (
        "grouping",
        "training",
        "sharding",
        "checkpoint",
        "diagnostics",
        "sweeps",
    ):
        module = importlib.import_module(f"{PACKAGE}.{name}")
        pages.append(
            Page(
                name,
                f"jaxopt_lessons.{name}",
                module.__name__,
                [Section("", list(module.__all__))],
            )
        )
    contrib = importlib.import_module(f"{PACKAGE}.contrib")
    pages.append(
        Page(
            "contrib",
            "jaxopt_lessons.contrib",
            contrib.__name__,
            _split(
                list(contrib.__all__),
                ("Optimizers", list(getattr(contrib, "OPTIMIZERS", ())), ""),
                ("Building blocks", list(getattr(contrib, "TRANSFORMS", ())), ""),
                ("Name lists", ["OPTIMIZERS", "TRANSFORMS"], ""),
            ),
        )
    )
    return pages


def _is_ours(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def _attr_doc(module_name: str, name: str, value: Any) -> str | None:
    """The ``#:`` comment (or string after the assignment) of a module-level
    name, looked up in `module_name` and, for a re-export, in the submodule
    that defines it."""
    candidates = [module_name]
    module = importlib.import_module(module_name)
    path = getattr(module, "__path__", None)
    if path:  # a package: its submodules may define the name
        import pkgutil

        candidates += [
            f"{module_name}.{info.name}" for info in pkgutil.iter_modules(path)
        ]
    for candidate in candidates:
        try:
            sub = importlib.import_module(candidate)
        except Exception:  # an optional dependency missing: not the definer
            continue
        if getattr(sub, name, object()) is not value:
            continue
        try:
            docs = ModuleAnalyzer.for_module(candidate).find_attr_docs()
        except Exception:
            continue
        lines = docs.get(("", name))
        if lines and "".join(lines).strip():
            return "\n".join(lines).rstrip()
    return None


def _plain_signature(obj: Any) -> str:
    """``(a, b=1, *args)`` without annotations, for a hand-written entry."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    params = [
        p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()
    ]
    return str(
        sig.replace(parameters=params, return_annotation=inspect.Signature.empty)
    )


def _optax_path(name: str, obj: Any) -> str:
    import optax

    if getattr(optax, name, None) is obj:
        return f"optax.{name}"
    return f"{getattr(obj, '__module__', 'optax')}.{getattr(obj, '__qualname__', name)}"


def _first_paragraph(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    para = doc.split("\n\n")[0].strip()
    # plain text: Optax's roles and markup would need Optax's inventory
    return " ".join(para.split()).replace("`", "").replace("*", "").replace("|", "")


def _entry(page_module: str, name: str, canonical: dict[int, str]) -> str:
    """The reStructuredText of one public name."""
    module = importlib.import_module(page_module)
    obj = getattr(module, name)
    full = f"{page_module}.{name}"
    home = canonical.get(id(obj))
    if (
        home is not None
        and home != full
        and (inspect.isfunction(obj) or inspect.isclass(obj))
    ):
        kind = "class" if inspect.isclass(obj) else "function"
        role = "class" if kind == "class" else "func"
        return (
            f".. py:{kind}:: {full}{_plain_signature(obj)}\n   :no-index-entry:\n\n"
            f"   Re-exported: the same object as :py:{role}:`{home}`.\n"
        )
    if (
        inspect.isclass(obj)
        or inspect.isfunction(obj)
        or callable(obj)
        and not _is_data(obj)
    ):
        if not _is_ours(obj):
            return _foreign_entry(full, name, obj)
        if not _has_own_docstring(obj):
            logger.warning(
                f"{full} is public (in __all__) but has no docstring",
                type="jol",
                subtype="docstring",
            )
        if inspect.isclass(obj):
            directive = (
                "autoexception" if issubclass(obj, BaseException) else "autoclass"
            )
            return f".. {directive}:: {full}\n   :members:\n"
        return f".. autofunction:: {full}\n"
    # data: a constant, a tuple of names, a type alias
    if not _is_ours_data(page_module, name, obj):
        return _foreign_entry(full, name, obj)
    doc = _attr_doc(page_module, name, obj)
    if doc is None:
        logger.warning(
            f"{full} is public (in __all__) but has no docstring "
            "(a `#:` comment above its assignment)",
            type="jol",
            subtype="docstring",
        )
        doc = ""
    value = repr(obj)
    if len(value) > 300:
        value = value[:300] + " ..."
    return (
        f".. py:data:: {full}\n   :value: {value}\n\n"
        + textwrap.indent(doc, "   ")
        + "\n"
    )


def _has_own_docstring(obj: Any) -> bool:
    """Whether `obj` was given a docstring (not one inherited from a base
    class, nor the ``Name(field, ...)`` that NamedTuple and dataclass write)."""
    doc = obj.__doc__ if inspect.isclass(obj) else inspect.getdoc(obj)
    if not isinstance(doc, str) or not doc.strip():
        return False
    return not (inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("))


def _is_data(obj: Any) -> bool:
    """A typing alias (``Union[...]``) is callable-looking but is data here."""
    return type(obj).__module__ in ("typing", "types") and not inspect.isclass(obj)


def _is_ours_data(page_module: str, name: str, obj: Any) -> bool:
    if _is_data(obj):
        return False
    import optax

    return getattr(optax, name, object()) is not obj


def _foreign_entry(full: str, name: str, obj: Any) -> str:
    """A short entry for an object of Optax's, re-exported here."""
    source = _optax_path(name, obj)
    summary = _first_paragraph(obj)
    if inspect.isclass(obj):
        fields = getattr(obj, "_fields", None)
        sig = f"({', '.join(fields)})" if fields else ""
        text = f"Optax's class ``{source}``, re-exported."
        if fields:
            text += " Fields: " + ", ".join(f"``{f}``" for f in fields) + "."
        kind = "class"
    elif _is_data(obj) or not callable(obj):
        sig = ""
        text = f"Optax's type ``{source}``, re-exported: ``{obj!r}``."
        summary = ""
        kind = "data"
    else:
        sig = _plain_signature(obj)
        text = f"Optax's ``{source}``, re-exported."
        kind = "function"
    body = text + ("\n\n" + summary if summary else "")
    return f".. py:{kind}:: {full}{sig}\n\n" + textwrap.indent(body, "   ") + "\n"


def _api_page(page: Page, canonical: dict[int, str]) -> str:
    title = page.title
    lines = [f".. _api-{page.slug}:", "", title, "=" * len(title), ""]
    if page.show_module_doc:
        lines += [f".. automodule:: {page.module}", "   :no-members:", ""]
    lines += [f".. currentmodule:: {page.module}", ""]
    if page.intro:
        lines += [page.intro, ""]
    for section in page.sections:
        if section.title and (section.title != title or len(page.sections) > 1):
            lines += [section.title, "-" * len(section.title), ""]
        if section.intro:
            lines += [section.intro, ""]
        lines += [".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in section.names] + [""]
        for name in section.names:
            lines += [_entry(page.module, name, canonical), ""]
    if not any(section.names for section in page.sections):
        lines += ["No public names yet.", ""]
    return "\n".join(lines)


def write_api(outdir: pathlib.Path) -> None:
    pages = _pages()
    # Where each object is documented in full: the page whose module is the
    # longest prefix of the module that defines it.
    canonical: dict[int, tuple[int, str]] = {}
    for page in pages:
        module = importlib.import_module(page.module)
        for section in page.sections:
            for name in section.names:
                obj = getattr(module, name)
                if not (
                    inspect.isfunction(obj) or inspect.isclass(obj)
                ) or not _is_ours(obj):
                    continue
                defined = obj.__module__
                if defined != page.module and not defined.startswith(page.module + "."):
                    score = 0
                else:
                    score = len(page.module)
                best = canonical.get(id(obj))
                if best is None or score > best[0]:
                    canonical[id(obj)] = (score, f"{page.module}.{name}")
    homes = {key: full for key, (_, full) in canonical.items()}
    written = set()
    toc = []
    for page in pages:
        path = outdir / f"{page.slug}.rst"
        _write(path, _api_page(page, homes))
        written.add(path)
        toc.append(page.slug)
    index = outdir / "index.md"
    _write(
        index,
        "# API reference\n\n"
        "Generated from the docstrings of each module's public names (its "
        "`__all__`). Every optimizer and building block is an "
        "`optax.GradientTransformation`; the docstrings give the update rule, "
        "the arguments and defaults, and how each differs from Optax or torch.\n\n"
        "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(toc) + "\n```\n",
    )
    written.add(index)
    _prune(outdir, written)


# ------------------------------------------------------------------- notebooks


def _execute_in_parallel(app: Sphinx, paths: list[pathlib.Path]) -> None:
    """Executes the notebooks that the cache lacks, one per CPU at a time, and
    caches them; myst-nb then reads each from the cache. (myst-nb alone
    executes them one after another while it reads.) A notebook that fails is
    left out of the cache, so myst-nb executes it again and reports the error."""
    if app.config.nb_execution_mode != "cache":
        return
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache = get_cache(app.config.nb_execution_cache_path)
    todo = []
    for path in paths:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            todo.append(path)
    if len(todo) < 2:
        return
    logger.info(f"executing {len(todo)} notebooks, {os.cpu_count()} at a time")
    for path in todo:
        cache.add_nb_to_project(str(path))
    executor = load_executor("local-parallel", cache)
    result = executor.run_and_cache(
        filter_uris=[str(p) for p in todo],
        timeout=app.config.nb_execution_timeout,
        allow_errors=False,
    )
    for uri in result.excepted + result.errored:
        logger.info(f"{uri} failed; it is executed again to report the error")


def write_lessons(outdir: pathlib.Path, app: Sphinx | None = None) -> None:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    written = set()
    for nb in notebooks:
        dst = outdir / nb.name
        _copy(nb, dst)
        written.add(dst)
    if app is not None:
        _execute_in_parallel(app, [outdir / nb.name for nb in notebooks])
    index = outdir / "index.md"
    _write(
        index,
        "# Lessons\n\n"
        "The notebooks of `notebooks/`, executed when the site is built (the "
        "repository keeps them without outputs). Each measures what it says "
        "with this library; the plots are the ones the code draws.\n\n"
        "```{toctree}\n:maxdepth: 1\n\n"
        + "\n".join(nb.stem for nb in notebooks)
        + "\n```\n",
    )
    written.add(index)
    _prune(outdir, written)


# ---------------------------------------------------------------------- claims

_MARKDOWN_SPECIAL = "\\`*_[]<>|$#"


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in str(text))


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        shown = [_fmt(v) for v in value[:8]]
        more = f", … ({len(value)} values)" if len(value) > 8 else ""
        return "[" + ", ".join(shown) + more + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{k}: {_fmt(v)}" for k, v in list(value.items())[:8])
            + (", …" if len(value) > 8 else "")
            + "}"
        )
    return str(value)


def _flatten(entry: dict, prefix: str = "") -> list[tuple[str, Any]]:
    rows = []
    for key, value in entry.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and len(value) <= 12:
            rows += _flatten(value, name + ".")
        else:
            rows.append((name, value))
    return rows


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _claim_page(claim: str, entry: dict, plots: list[str], mode: str) -> str:
    lessons = importlib.import_module(f"{PACKAGE}.lessons")
    module = lessons.get(claim)
    first_line = (inspect.getdoc(module) or claim).split("\n")[0].rstrip(".")
    holds = entry.get("holds")
    verdict = "holds" if holds else "does **not** hold"
    lines = [
        f"(claim-{claim})=",
        f"# {_escape(first_line)}",
        "",
        f"Claim `{claim}`, measured by "
        f"`jaxopt_lessons.lessons.{claim}` in the {mode} run of "
        f"`python -m jaxopt_lessons` that built this site.",
        "",
        f"**Claim.** {_escape(getattr(module, 'CLAIM', ''))}",
        "",
        f"**Verdict:** the claim {verdict} ({entry.get('seconds', '?')} s).",
        "",
        f"**Measured.** {_escape(entry.get('measured', ''))}",
        "",
    ]
    if plots:
        lines += ["## Plots", ""]
        for png in plots:
            lines += [f"![{png}]({png})", ""]
    numbers = [
        (k, v) for k, v in _flatten(entry) if k not in ("holds", "measured", "seconds")
    ]
    if numbers:
        lines += ["## Numbers", "", "| quantity | value |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(_fmt(v))} |" for k, v in numbers]
        lines += [""]
    thresholds = getattr(module, "THRESHOLDS", None)
    if thresholds is not None and dataclasses.is_dataclass(thresholds):
        lines += [
            "## What the verdict requires",
            "",
            "The thresholds `run` checks (`THRESHOLDS`; the tests import them).",
            "",
            "| threshold | value |",
            "|---|---|",
        ]
        for field in dataclasses.fields(thresholds):
            lines.append(
                f"| {_cell(field.name)} | {_cell(_fmt(getattr(thresholds, field.name)))} |"
            )
        lines += [""]
    lines += [
        "## The experiment",
        "",
        "```{eval-rst}",
        f".. automodule:: jaxopt_lessons.lessons.{claim}",
        "   :no-members:",
        "   :no-index:",
        "```",
        "",
    ]
    return "\n".join(lines)


def write_claims(outdir: pathlib.Path, app: Sphinx) -> None:
    lessons = importlib.import_module(f"{PACKAGE}.lessons")
    source = pathlib.Path(app.config.jol_claims_dir)
    report_path = source / "report.json"
    written = set()
    if not report_path.exists():
        logger.warning(
            f"no claim report at {report_path}: run `make docs` (it writes the "
            "report with `python -m jaxopt_lessons --json`)",
            type="jol",
            subtype="claims",
        )
        report = {}
    else:
        report = json.loads(report_path.read_text())
    flags = (
        (source / "flags.txt").read_text().strip()
        if (source / "flags.txt").exists()
        else ""
    )
    mode = "quick (`--quick`)" if "--quick" in flags else "full"
    pngs = sorted(p.name for p in source.glob("*.png"))
    toc = []
    for claim in lessons.CLAIM_IDS:
        if claim not in report:
            if report:
                logger.warning(
                    f"claim {claim!r} is missing from {report_path}",
                    type="jol",
                    subtype="claims",
                )
            continue
        plots = [p for p in pngs if p == f"{claim}.png" or p.startswith(f"{claim}_")]
        for png in plots:
            _copy(source / png, outdir / png)
            written.add(outdir / png)
        path = outdir / f"{claim}.md"
        _write(path, _claim_page(claim, report[claim], plots, mode))
        written.add(path)
        toc.append(claim)
    rows = ["| claim | holds | measured |", "|---|---|---|"]
    for claim in toc:
        entry = report[claim]
        rows.append(
            f"| [{claim}]({claim}.md) | {'yes' if entry.get('holds') else '**no**'} "
            f"| {_escape(entry.get('measured', ''))} |"
        )
    index = outdir / "index.md"
    _write(
        index,
        "# The lesson's claims, measured\n\n"
        "`python -m jaxopt_lessons` measures each claim of the lesson, and four claims "
        "of newer methods, on real "
        f"problems and says whether it holds. These pages show the {mode} run made "
        "when this site was built: the verdict, the numbers, the plots and the "
        "thresholds the verdict is held to.\n\n"
        + "\n".join(rows)
        + "\n\n```{toctree}\n:hidden:\n\n"
        + "\n".join(toc)
        + "\n```\n",
    )
    written.add(index)
    _prune(outdir, written)


# ------------------------------------------------------------------ soft links


class SoftRole(PyXRefRole):
    """``py:obj`` that falls back to code when the name is not documented."""

    def run(self):
        self.name = "py:obj"
        return super().run()

    def result_nodes(self, document, env, node, is_ref):
        node["jol_soft"] = True
        return [node], []


def _missing_reference(app: Sphinx, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if target.startswith("jol."):  # the docs' usual alias
        retry = node.deepcopy()
        retry["reftarget"] = PACKAGE + target[3:]
        domain = env.get_domain("py")
        found = domain.resolve_xref(
            env,
            node["refdoc"],
            app.builder,
            node["reftype"],
            retry["reftarget"],
            retry,
            contnode,
        )
        if found is not None:
            return found
    if node.get("jol_soft"):
        return contnode
    return None


def _generate(app: Sphinx) -> None:
    write_api(DOCS / "api")
    write_lessons(DOCS / "lessons", app)
    write_claims(DOCS / "claims", app)


# ---------------------------------------------------- docstrings as maths prose

_BULLET = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|:[^:]+:|\.\. )")
_PLURAL = re.compile(r"(?<![`\\])(`{1,2})(?!`)([^`\n]+?)(?<!`)\1(?!`)(?=[^\W_])")
_SPANS = re.compile(r"(`{1,2})(?!`)[^`\n]*?(?<!`)\1(?!`)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _prose(line: str) -> str:
    """Escapes what RST would misread in a line of prose: ``|g|`` (a
    substitution in RST, an absolute value here) and a backquoted name with a
    suffix (```State`s``)."""
    line = _PLURAL.sub(lambda m: m.group(0) + "\\ ", line)
    out, last = [], 0
    for span in _SPANS.finditer(line):
        out.append(line[last : span.start()].replace("|", "\\|"))
        out.append(span.group(0))
        last = span.end()
    out.append(line[last:].replace("|", "\\|"))
    return "".join(out)


def _process_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    """Reads this package's docstrings as they are written: maths in plain
    text and code examples indented under a paragraph (made literal blocks
    here, as if the paragraph ended with ``::``)."""
    if not name.startswith(PACKAGE):
        return
    result: list[str] = []
    literal_indent: int | None = None  # inside a literal block deeper than this
    in_paragraph = False
    for line in lines:
        if literal_indent is not None:
            if line.strip() and _indent(line) <= literal_indent:
                literal_indent = None
            else:
                result.append(line)
                continue
        if not line.strip():
            result.append(line)
            in_paragraph = False
            continue
        if not in_paragraph:
            parent = _paragraph_head(result)
            last = next((r for r in reversed(result) if r.strip()), None)
            if last is not None and last.rstrip().endswith("::"):
                literal_indent = _indent(last)  # an explicit literal block
                result.append(line)
                continue
            if (
                parent is not None
                and _indent(line) > _indent(parent)
                and not _BULLET.match(parent)
            ):  # an indented block under a plain paragraph: code or maths
                result += [" " * _indent(parent) + "::", ""]
                literal_indent = _indent(parent)
                result.append(line)
                continue
            in_paragraph = True
        result.append(_prose(line))
    lines[:] = result


def _paragraph_head(result: list[str]) -> str | None:
    """The first line of the last paragraph in `result` (None if none)."""
    i = len(result) - 1
    while i >= 0 and not result[i].strip():
        i -= 1
    if i < 0:
        return None
    while i > 0 and result[i - 1].strip():
        i -= 1
    return result[i]


_ALIAS_REPR = re.compile(r"TypeAliasForwardRef\('([^']+)'\)")


def _process_signature(app, what, name, obj, options, signature, return_annotation):
    """An alias of `autodoc_type_aliases` inside a union or a tuple is printed
    as ``TypeAliasForwardRef('name')`` by Sphinx 9; print the name."""
    if signature is None and return_annotation is None:
        return None
    fix = lambda text: _ALIAS_REPR.sub(r"\1", text) if text else text
    return fix(signature), fix(return_annotation)


def _skip_member(app, what, name, obj, skip, options):
    # NamedTuple fields: their docstring is "Alias for field number N"; the
    # class signature already names them.
    doc = getattr(obj, "__doc__", None) or ""
    if isinstance(doc, str) and doc.startswith("Alias for field number"):
        return True
    return None


def setup(app: Sphinx) -> dict:
    app.add_config_value("jol_claims_dir", str(DOCS / "_build" / "claims"), "env")
    # This file's digest: editing the extension re-reads every page.
    import hashlib

    digest = hashlib.sha256(pathlib.Path(__file__).read_bytes()).hexdigest()
    app.add_config_value("jol_ext_digest", digest, "env")
    app.add_role("jol-soft", SoftRole())
    app.connect("builder-inited", _generate)
    app.connect("missing-reference", _missing_reference)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-signature", _process_signature)
    app.connect("autodoc-process-docstring", _process_docstring, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
