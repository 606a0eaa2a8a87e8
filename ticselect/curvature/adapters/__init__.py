"""Layer 1 — one adapter per model kind, each reading a fitted model into a spec.

``sklearn_glm`` and ``statsmodels`` produce a :class:`~ticselect.curvature._glm.GLMSpec`
for the GLM kernel; ``sklearn_mlp`` produces a network spec and its
:class:`~ticselect.Curvature`.  The dispatcher in
:mod:`ticselect.curvature._dispatch` chooses between them.
"""
