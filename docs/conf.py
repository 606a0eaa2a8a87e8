"""Sphinx configuration of the ticselect documentation.

CI builds it with
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("MPLBACKEND", "Agg")

import ticselect  # noqa: E402

project = "ticselect"
author = "ticselect developers"
copyright = "2026, ticselect developers"  # noqa: A001
release = ticselect.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

autosummary_generate = True
# scikit-learn's generated metadata-routing setters cite its own glossary
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": "set_fit_request,set_score_request,set_predict_request,"
    "set_predict_proba_request,set_transform_request,set_partial_fit_request",
}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# no network in CI: cross-references to other projects are written as plain text
intersphinx_mapping = {}

html_theme = "alabaster"
html_static_path = []
html_title = f"ticselect {release}"

_SHAPE_UNDERSCORE = re.compile(r"(\w)_(?=[,)])")


def _escape_shape_underscores(app, what, name, obj, options, lines):
    """Escape ``n_features_in_,`` in shape descriptions (else a reST reference)."""
    for i, line in enumerate(lines):
        if "of shape (" in line:
            lines[i] = _SHAPE_UNDERSCORE.sub(r"\1\\_", line)


def setup(app):
    """Register the docstring fix-up."""
    app.connect("autodoc-process-docstring", _escape_shape_underscores)
