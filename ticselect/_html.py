"""Layer 0 — HTML tables for the notebook representations (``_repr_html_``).

Every result object that a notebook shows renders as one small table: a caption, a
header row and escaped cells.  The values are formatted by the caller.
"""

from __future__ import annotations

import html

__all__ = ["format_value", "key_value_table", "table"]


def table(caption, header, rows, footer=()):
    """An HTML table with a caption, a header row and (optional) footer lines.

    Parameters
    ----------
    caption : str
        Caption text.
    header : list of str
        Column titles.
    rows : list of list of str
        Cells, already formatted.
    footer : sequence of str, default=()
        Lines under the table (one cell spanning every column).

    Returns
    -------
    str

    Examples
    --------
    >>> text = table("t", ["a"], [["1 < 2"]])
    >>> text.startswith("<table><caption>t</caption>"), "<td>1 &lt; 2</td>" in text
    (True, True)
    """
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
        for r in rows
    )
    foot = ""
    if footer:
        text = "<br>".join(html.escape(line) for line in footer)
        foot = f"<tfoot><tr><td colspan='{len(header)}'>{text}</td></tr></tfoot>"
    return (
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr>"
        f"</thead><tbody>{body}</tbody>{foot}</table>"
    )


def format_value(value):
    """A scalar as a short string: ``-`` for ``None``, 6 significant digits."""
    if value is None:
        return "-"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, tuple | list):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, int):
        return f"{value:d}"
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError):
        return str(value)


def key_value_table(caption, mapping, footer=()):
    """A two-column HTML table ``name | value`` of a mapping.

    Parameters
    ----------
    caption : str
        Caption text.
    mapping : dict
        Names to scalars (formatted by :func:`format_value`).
    footer : sequence of str, default=()
        Lines under the table.

    Returns
    -------
    str
    """
    rows = [[k, format_value(v)] for k, v in mapping.items()]
    return table(caption, ["", "value"], rows, footer)
