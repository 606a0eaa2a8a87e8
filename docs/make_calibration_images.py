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


def main():
    """Write the binary, multiclass and smoothed reliability diagrams."""
    OUT.mkdir(exist_ok=True)
    X, y = make_classification(
        n_samples=6000, n_features=20, n_informative=5, n_redundant=10, random_state=0
    )
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, random_state=0)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for i, est in enumerate((LogisticRegression(), GaussianNB())):
        est.fit(X_tr, y_tr)
        ReliabilityDisplay.from_estimator(
            est, X_te, y_te, n_bins=10, ax=ax, ref_line=i == 0
        )
    ax.set_title("Binary: P(y=1), 95% Wilson bands")
    fig.tight_layout()
    fig.savefig(OUT / "reliability_binary.png", dpi=100)
    plt.close(fig)

    X, y = make_classification(
        n_samples=6000, n_classes=3, n_informative=6, random_state=1
    )
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, random_state=1)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for i, est in enumerate((LogisticRegression(), GaussianNB())):
        est.fit(X_tr, y_tr)
        ReliabilityDisplay.from_estimator(
            est, X_te, y_te, n_bins=10, strategy="quantile", ax=ax, ref_line=i == 0
        )
    ax.set_title("Multiclass: top-label confidence, quantile bins")
    fig.tight_layout()
    fig.savefig(OUT / "reliability_multiclass_top_label.png", dpi=100)
    plt.close(fig)

    # the binary models again, as smoothed curves with 95% bootstrap bands
    X, y = make_classification(
        n_samples=6000, n_features=20, n_informative=5, n_redundant=10, random_state=0
    )
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, random_state=0)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for i, est in enumerate((LogisticRegression(), GaussianNB())):
        est.fit(X_tr, y_tr)
        ReliabilityDisplay.from_estimator(
            est, X_te, y_te, kind="smooth", random_state=0, ax=ax, ref_line=i == 0
        )
    ax.set_title("Binary: smoothed curves, 95% bootstrap bands")
    fig.tight_layout()
    fig.savefig(OUT / "reliability_smooth_band.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
