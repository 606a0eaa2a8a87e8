"""Reliability flags in tables: the ``flags`` cell.

Shared by :func:`~ticselect.compare`, :func:`~ticselect.compare_formulas`,
:func:`~ticselect.criterion_path` and the command line (``ticselect select`` and
``ticselect compare``), so that every table writes a flagged row the same way (the
line about a flagged pick is the recommendation's note, one wording for all:
:mod:`ticselect.selection._recommend`).

Convention
----------
In a table (``to_dict``, ``to_frame``, CSV, text, HTML) the ``flags`` column holds the
row's :attr:`ticselect.Criteria.flags` joined by ``","`` (full names, e.g.
``"separation,overconfident"``) and the **empty string** when the row is reliable, so
that ``bool(row["flags"])`` says whether it is flagged.  The ``--json`` outputs of
the command line carry the same flags as a list (``[]`` when reliable), and the
aligned text table of ``ticselect select`` abbreviates them (``-`` when none).
:func:`parse_flags` turns a cell back into the tuple.
"""

from __future__ import annotations

__all__ = ["flags_text", "parse_flags"]

#: Separator of the flag names in a ``flags`` cell.
FLAG_SEPARATOR = ","


def flags_text(flags):
    """The ``flags`` cell of a row: names joined by ``","``, ``""`` when reliable.

    Parameters
    ----------
    flags : sequence of str
        Reliability flags (:attr:`ticselect.Criteria.flags`).

    Returns
    -------
    str

    Examples
    --------
    >>> flags_text(("separation", "overconfident")), flags_text(())
    ('separation,overconfident', '')
    """
    return FLAG_SEPARATOR.join(flags)


def parse_flags(text):
    """Inverse of :func:`flags_text`: the tuple of flag names of a ``flags`` cell.

    Parameters
    ----------
    text : str or None
        A ``flags`` cell; ``""`` and ``None`` (or a ``nan`` read back from an empty
        CSV cell) mean no flag.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> parse_flags("separation,overconfident"), parse_flags("")
    (('separation', 'overconfident'), ())
    """
    if not isinstance(text, str) or not text:
        return ()
    return tuple(part for part in text.split(FLAG_SEPARATOR) if part)
