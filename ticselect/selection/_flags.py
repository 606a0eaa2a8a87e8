"""Reliability flags in tables: the ``flags`` cell and the "flagged pick" line.

Shared by :func:`~ticselect.compare`, :func:`~ticselect.compare_formulas`,
:func:`~ticselect.criterion_path` and the command line (``ticselect select`` and
``ticselect compare``), so that every table words a flagged row and a flagged pick
the same way.

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

__all__ = ["flagged_pick_note", "flags_text", "parse_flags"]

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


def flagged_pick_note(pick, flags, n_flagged, n_rows, criterion="TIC", advice=""):
    """One line saying that a criterion's pick carries reliability flags.

    The wording of the ``ticselect select`` warning line, reused by the tables of
    :func:`~ticselect.compare` and :func:`~ticselect.criterion_path`.

    Parameters
    ----------
    pick : str
        The picked row, as shown (e.g. ``"C=100"`` or a model name).
    flags : sequence of str
        Its reliability flags (not empty).
    n_flagged, n_rows : int
        How many rows of the table are flagged, out of how many.
    criterion : str, default="TIC"
        The criterion whose pick it is.
    advice : str, default=""
        A sentence appended at the end (e.g. ``"Prefer CV's pick."``).

    Returns
    -------
    str

    Examples
    --------
    >>> flagged_pick_note("C=100", ["overconfident"], 2, 5)
    "TIC's pick C=100 is flagged (overconfident): TIC cannot be trusted there; 2 of 5 rows are flagged."
    """  # noqa: E501
    text = (
        f"{criterion}'s pick {pick} is flagged ({', '.join(flags)}): {criterion} "
        f"cannot be trusted there; {n_flagged} of {n_rows} rows are flagged."
    )
    return f"{text} {advice}" if advice else text
