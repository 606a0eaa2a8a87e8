"""Regenerate the reliability-diagram images used in ``docs/calibration.md``.

Run ``python docs/make_calibration_images.py`` from the repository root; it writes
PNG files to ``docs/images/``. Seeds are fixed, so the images are reproducible.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402

from ticselect.calibration._display import ReliabilityDisplay  # noqa: E402

OUT = Path(__file__).resolve().parent / "images"


def _figure(name, title, data, **display):
    """Two models (logistic regression, naive Bayes) on one data set, one figure."""
    X, y, seed = data
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, random_state=seed)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for i, est in enumerate((LogisticRegression(), GaussianNB())):
        est.fit(X_tr, y_tr)
        ReliabilityDisplay.from_estimator(
            est, X_te, y_te, ax=ax, ref_line=i == 0, **display
        )
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(OUT / name, dpi=100)
    plt.close(fig)


def main():
    """Write the binary, multiclass and smoothed reliability diagrams."""
    OUT.mkdir(exist_ok=True)
    binary = (
        *make_classification(
            n_samples=6000,
            n_features=20,
            n_informative=5,
            n_redundant=10,
            random_state=0,
        ),
        0,
    )
    multi = (
        *make_classification(
            n_samples=6000, n_classes=3, n_informative=6, random_state=1
        ),
        1,
    )
    _figure(
        "reliability_binary.png", "Binary: P(y=1), 95% Wilson bands", binary, n_bins=10
    )
    _figure(
        "reliability_multiclass_top_label.png",
        "Multiclass: top-label confidence, quantile bins",
        multi,
        n_bins=10,
        strategy="quantile",
    )
    # the binary models again, as smoothed curves with 95% bootstrap bands
    _figure(
        "reliability_smooth_band.png",
        "Binary: smoothed curves, 95% bootstrap bands",
        binary,
        kind="smooth",
        random_state=0,
    )


if __name__ == "__main__":
    main()
