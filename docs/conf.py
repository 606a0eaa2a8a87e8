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
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb"]

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

# the theme of scikit-learn, numpy and pandas: a wide content column, so tables and
# code blocks of 88 characters fit without scrolling at 1280 px
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_title = f"ticselect {release}"
# no left sidebar: the top bar navigates, and the column is wide enough for 88
# characters of code at a 1280-pixel window (checked with headless Chromium)
html_sidebars = {"**": []}
html_theme_options = {
    # the top bar shows Getting started, Command line, User guide, Selection,
    # Examples and the API reference; only Architecture and Benchmarks go under
    # the theme's "More" menu
    "header_links_before_dropdown": 6,
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}

# examples/ rendered as a gallery with their printed output and figures.  Every
# script runs once here (under a minute in all on one core); tests/test_examples.py
# runs them as well, checking a line of output each.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # execute every example, not only plot_*.py
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
    "write_computation_times": False,  # its page loads scripts from a CDN
}

_SHAPE_UNDERSCORE = re.compile(r"(\w)_(?=[,)])")


def _escape_shape_underscores(app, what, name, obj, options, lines):
    """Escape ``n_features_in_,`` in shape descriptions (else a reST reference)."""
    for i, line in enumerate(lines):
        if "of shape (" in line:
            lines[i] = _SHAPE_UNDERSCORE.sub(r"\1\\_", line)


def setup(app):
    """Register the docstring fix-up."""
    app.connect("autodoc-process-docstring", _escape_shape_underscores)
