"""Scaling out: curvature, criteria and a TIC grid search on a dask cluster.

Starts a ``LocalCluster`` (2 worker processes, loopback only), fits dask-ml's
``LogisticRegression`` on a chunked dask array, computes its exact curvature and
criteria chunk by chunk on the workers (the client receives only p × p matrices),
then runs a scikit-learn ``GridSearchCV`` ranked by ``neg_tic`` on the cluster through
joblib's dask backend, and checks it against the serial search.

Run: ``python examples/scale_out.py`` (about 20 seconds, mostly worker start-up).
On a real cluster, replace ``LocalCluster(...)`` by the scheduler's address.
"""

import dask.array as da
import joblib
import numpy as np
from dask_ml.linear_model import LogisticRegression as DaskLogisticRegression
from distributed import Client, LocalCluster
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

import ticselect as ts

if __name__ == "__main__":  # worker processes re-import this module
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        n, p = 100_000, 20
        X = da.random.default_rng(0).standard_normal((n, p), chunks=(25_000, p))
        beta = np.linspace(-1, 1, p)
        y = (X @ beta + da.random.default_rng(1).logistic(size=n, chunks=25_000)) > 0
        X, y = client.persist([X, y.astype(int)])  # keep the chunks on the workers

        model = DaskLogisticRegression(C=1.0, solver="lbfgs", tol=1e-10).fit(X, y)
        curv = ts.curvature(model, X, y)  # one blockwise pass, a tree reduction
        crit = ts.criteria(curv)
        print(f"{curv.model_name}: n = {curv.n_rows}, {curv.n_params} parameters")
        print(
            f"stationarity {curv.stationarity:.1e}, TIC {crit.tic:.1f}, "
            f"AIC {crit.aic:.1f}, TIC penalty {crit.tic_penalty:.2f}"
        )

        # a scikit-learn search, each candidate scored by TIC on a worker
        Xs, ys = X[:20_000].compute(), y[:20_000].compute()
        grid = {"C": np.logspace(-3, 1, 5)}
        search = dict(cv=ts.InSample(), scoring=ts.get_scorer("neg_tic"))
        serial = GridSearchCV(LogisticRegression(tol=1e-10), grid, **search)
        serial.fit(Xs, ys)
        with joblib.parallel_backend("dask"):
            distributed = GridSearchCV(
                LogisticRegression(tol=1e-10), grid, n_jobs=-1, **search
            ).fit(Xs, ys)
        same = np.array_equal(
            serial.cv_results_["mean_test_score"],
            distributed.cv_results_["mean_test_score"],
        )
        print(
            f"cluster search picks C={distributed.best_params_['C']:.3g} "
            f"(same scores as the serial search: {same})"
        )
