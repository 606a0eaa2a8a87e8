"""Layer 3 — how sure a criterion path's pick is (the uncertainty part of paths).

The methods of :class:`~ticselect.CriterionPath` that read the per-row values of ALO
(``2·ℓᵢ(θ₋ᵢ)``) and TIC (:func:`ticselect.pointwise`) along the grid: the paired
differences to the minimum with their standard errors, ``p_worse``, the diagnostics,
weights, the best-of-many check and the one-standard-error rule (conventions in
:mod:`ticselect.selection._uncertainty`).
"""

from __future__ import annotations

import numpy as np

from ._uncertainty import one_se_index, table_columns

__all__ = ["RULES", "PathUncertainty", "check_rule"]

#: How a criterion picks (see :func:`ticselect.criterion_path`).
RULES = ("min", "one_se")


def check_rule(rule):
    """Refuse a ``rule`` that is not one of :data:`RULES` in one line."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {list(RULES)}, got {rule!r}.")


class PathUncertainty:
    """Mixin of :class:`~ticselect.CriterionPath`: its uncertainty methods.

    Needs ``loo``, ``tic_pointwise``, ``sample_weight``, ``criteria``,
    ``recommendation``, ``rule``, :meth:`deviance` and ``_has_alo``.
    """

    def uncertainty(self, criterion="alo"):
        """How sure the criterion's pick is: its uncertainty columns along the path.

        Parameters
        ----------
        criterion : {"alo", "tic"}, default="alo"
            A criterion with per-row values.

        Returns
        -------
        columns : dict of str to ndarray of shape (n_values,)
            ``d_c``, ``d_c_se`` (paired, loo's ``se_diff`` × 2), ``p_worse_c``,
            ``diag_c``, ``cum_w_c``, ``er_c`` and ``in_set_c`` (conventions in
            :mod:`ticselect.selection._uncertainty`).
        best_of_many : BestOfMany
            Whether the minimum may have won by chance among this many values.

        Raises
        ------
        ValueError
            For another criterion, or one not computed along the path.
        """
        if criterion not in ("alo", "tic"):
            raise ValueError(
                f"criterion must be 'alo' or 'tic' (per-row values), got {criterion!r}."
            )
        if criterion == "alo":
            self.deviance("alo")  # raises when ALO was not computed
            vectors = [2.0 * np.asarray(r.pointwise, dtype=float) for r in self.loo]
            w = self.loo[0].weights
        else:
            vectors, w = self.tic_pointwise, self.sample_weight
            if any(v is None for v in vectors):
                raise ValueError(
                    "TIC's per-row values were not kept along this path: build it "
                    "with criterion_path()."
                )
        cache = self.__dict__.setdefault("_uncertainty", {})
        if criterion not in cache:
            cache[criterion] = table_columns(criterion, self.deviance(criterion),
                                             vectors, w)  # fmt: skip
        return cache[criterion]

    def _paired_criterion(self):
        """The criterion whose uncertainty the path reports first.

        The recommended one when it has per-row values here, else ALO (a GLM path
        recommends TIC only where TIC and ALO pick the same value), else ``None``.
        """
        paired = self._paired()
        rec = self.recommendation.criterion
        return rec if rec in paired else next(iter(paired), None)

    def _one_se(self, criterion):
        crit = criterion
        if crit == "recommended":
            crit = self._paired_criterion() or self.recommendation.criterion
        if crit not in ("alo", "tic"):
            raise ValueError(
                f"rule='one_se' needs a criterion with per-row values (ALO or TIC), "
                f"not {crit!r}."
            )
        cols, _ = self.uncertainty(crit)
        edf = [c.effective_dim for c in self.criteria]
        return one_se_index(cols[f"d_{crit}"], cols[f"d_{crit}_se"], edf)

    @property
    def best_of_many(self):
        """The best-of-many check of the recommended criterion (ALO or TIC).

        ALO's when the recommended criterion's per-row values were not kept;
        ``None`` when neither has them; see
        :func:`ticselect.selection._uncertainty.best_of_many`.

        Returns
        -------
        BestOfMany or None
        """
        crit = self._paired_criterion()
        return None if crit is None else self.uncertainty(crit)[1]

    @property
    def chance_note(self):
        """One line when the recommended criterion's minimum may be chance, else "".

        Returns
        -------
        str
        """
        check = self.best_of_many
        return "" if check is None else check.message

    def _rule_of(self, criterion):
        """The rule a criterion picks by here (``one_se`` only where it applies)."""
        paired = (*self._paired(), "recommended")
        return self.rule if criterion in paired else "min"

    def _paired(self):
        """Criteria with per-row values along this path (ALO, TIC)."""
        out = ["alo"] if self._has_alo else []
        return out + (["tic"] if all(v is not None for v in self.tic_pointwise) else [])
