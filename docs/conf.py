"""Sphinx configuration of the documentation site (`make docs`).

The site is built from the repository as it is: the API reference from the
docstrings (pages written by `_ext/jol_docs.py` from each module's
``__all__``), the lessons from the committed, output-free notebooks (executed
by myst-nb, cached with jupyter-cache), one page per claim from the report of
``python -m jaxopt_lessons`` (written by ``make docs`` to ``_build/claims``),
and the Markdown pages of this folder.
"""

from __future__ import annotations

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))  # `import jaxopt_lessons` and the notebooks' helpers

project = "jaxopt_lessons"
author = "the jaxopt_lessons authors"
copyright = "the jaxopt_lessons authors"
release = version = "0.1.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx-mathjax-offline",  # MathJax served from _static: the site reads offline
    "jol_docs",
]

# Sources: this folder's Markdown pages and what jol_docs writes to api/,
# lessons/ and claims/.
exclude_patterns = [
    "_build",
    "tests",
    "_ext",
    "**/.ipynb_checkpoints",
    "constraints.txt",
    "requirements.txt",
]

# Warnings are errors (`make docs` passes -W -n); these are references to
# names outside this project, which no inventory here can resolve (the build
# runs offline, without intersphinx).
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(optax|jax|jaxlib|numpy|np|jnp|chex|flax|torch|orbax|typing|"
        r"collections|types|pathlib|os|enum|dataclasses|functools|abc|builtins)\b.*",
    ),
    (
        r"py:.*",
        r"(Any|Callable|Iterable|Iterator|Mapping|Sequence|NamedTuple|"
        r"ArrayLike|Array|DTypeLike|PyTree|Path|Literal|Optional|Union|Self|T|_F|"
        r"int|float|bool|str|bytes|dict|list|tuple|set|frozenset|object|type|None|"
        r"complex|slice|Ellipsis|NotImplemented|Exception|ValueError|TypeError|"
        r"NDArray|DTypeLike)",
    ),
    (r"py:.*", r"[A-Z]\w*(Error|Exception|Exit|Warning|Interrupt)"),  # Python's
    (r"py:.*", r".*\._\w+"),  # a private class named in an annotation
]

# Docstrings write names in single backticks: `adam`, `optax.adam`, `lr`.
# `jol-soft` links a name when it is documented here and prints it as code
# otherwise (an argument, a variable, a name from another project).
default_role = "jol-soft"

# Autodoc: Google-style sections (Args, Returns, Raises), signatures as written.
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
# Shown by name, not expanded into the unions they stand for.
autodoc_type_aliases = {
    name: name
    for name in (
        "jax.typing.ArrayLike",
        "jax.typing.DTypeLike",
        "optax.ScalarOrSchedule",
        "optax.Schedule",
        "optax.Params",
        "optax.Updates",
        "optax.OptState",
        "chex.ArrayTree",
        "chex.Numeric",
    )
}
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True
python_use_unqualified_type_names = True
add_module_names = False
toc_object_entries_show_parents = "hide"  # the page's contents list each entry

# MyST / myst-nb: the notebooks are executed once and cached.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "cache"
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_output_stderr = "remove"  # tqdm bars and XLA chatter; errors still fail
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = "jaxopt_lessons"
html_static_path = ["_static"]
html_css_files = ["jol.css"]
html_favicon = "_static/favicon.svg"
# A mode the theme's script accepts (with none it logs a console error);
# light suits the plots, which are drawn on white.
html_context = {"default_mode": "light"}
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "home_page_in_toc": True,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
}
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
