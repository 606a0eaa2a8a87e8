"""Exact logistic curvature past one machine's memory: numpy vs dask vs out-of-core.

For n rows and p features (standard normal X scaled by 1/√p, logistic y), written once
to an uncompressed zarr store chunked by rows, prints in one run:

- ``numpy``: ``ts.curvature(est, X, y)`` with X loaded in memory (a fresh process;
  peak = its maximum resident set size, X included);
- ``dask``: the same on a ``LocalCluster`` (2 worker processes × 1 thread) with X
  persisted in the workers' memory;
- ``zarr``: the same on the same cluster reading X chunk by chunk from the store
  (out of core: nothing persisted);
- ``threads``: the dask path on the threaded scheduler (2 threads) in the numpy
  process, on the same in-memory X wrapped by ``da.from_array`` (chunks of rows);
- ``zarr-thr``: out of core without a cluster: the threaded scheduler (2 threads) in
  a fresh process reading the store (peak = that process's maximum resident set
  size, everything included);
- ``blas``: the two products ``Xᵀ diag(w) X`` (one for H, one for C) that any exact
  method needs, blockwise in one process (numpy) and on the cluster (dask);

with wall times, their ratios to ``blas`` and, for the cluster, the peak process memory
per worker during the call (sampled every 0.1 s by ``distributed``'s MemorySampler),
minus the memory the worker held before it (the persisted share of X).  The model is
fitted on the first 10⁵ rows, so the full-data curvature is not at a stationary point
(``stationarity_tol=inf``): the timing is that of any fit.

Usage::

    python benchmarks/scale_out.py                      # n = 1e6 and 1e7, p = 50
    python benchmarks/scale_out.py --n 4e7 --p 100 --only zarr   # larger than RAM

``--store DIR`` puts the zarr store there (default: a temporary directory, deleted at
the end).
"""

import argparse
import resource
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from _timing import best_of
from sklearn.linear_model import LogisticRegression

import ticselect as ts

CHUNK_FLOATS = 12_500_000  # 100 MB of float64 per row chunk


def write_store(path, n, p, chunk, seed=0):
    """Write X (n × p) and y (n,) to zarr, generated chunk by chunk on the cluster."""
    import dask.array as da
    import zarr

    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n, p), chunks=(chunk, p)) / np.sqrt(p)
    beta = np.random.default_rng(seed).standard_normal(p)
    eta = X @ beta
    y = (rng.random(n, chunks=chunk) < 1 / (1 + np.exp(-eta))).astype("f8")
    zX = zarr.create_array(
        store=str(path / "X.zarr"), shape=(n, p), chunks=(chunk, p), dtype="f8",
        compressors=None,
    )  # fmt: skip
    zy = zarr.create_array(
        store=str(path / "y.zarr"), shape=(n,), chunks=(chunk,), dtype="f8",
        compressors=None,
    )  # fmt: skip
    da.store([X, y], [zX, zy], lock=False)


def fitted_model(path):
    import zarr

    X = zarr.open_array(str(path / "X.zarr"), mode="r")[:100_000]
    y = zarr.open_array(str(path / "y.zarr"), mode="r")[:100_000]
    return LogisticRegression(C=1.0, tol=1e-8).fit(X, y)


def blocked_blas(X, w, chunk):
    p = X.shape[1]
    H, C = np.zeros((p, p)), np.zeros((p, p))
    for s in range(0, X.shape[0], chunk):
        Xb, wb = X[s : s + chunk], w[s : s + chunk]
        H += Xb.T @ (wb[:, None] * Xb)
        C += Xb.T @ (wb[:, None] * Xb)
    return H, C


def numpy_case(path, model, chunk, repeat):
    """In a fresh process: load X, time curvature and the BLAS products, peak RSS."""
    import zarr

    X = zarr.open_array(str(path / "X.zarr"), mode="r")[:]
    y = zarr.open_array(str(path / "y.zarr"), mode="r")[:]
    w = np.random.default_rng(1).random(X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_ours, curv = best_of(
            lambda: ts.curvature(model, X, y, stationarity_tol=np.inf), repeat
        )
    t_blas, _ = best_of(lambda: blocked_blas(X, w, chunk), repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    import dask
    import dask.array as da

    Xd = da.from_array(X, chunks=(chunk, X.shape[1]))
    yd = da.from_array(y, chunks=chunk)
    with warnings.catch_warnings(), dask.config.set(scheduler="threads", num_workers=2):
        warnings.simplefilter("ignore")
        t_thr, thr = best_of(
            lambda: ts.curvature(model, Xd, yd, stationarity_tol=np.inf), repeat
        )
    threads = (t_thr, SimpleNamespace(hessian=thr.hessian), np.nan, np.nan)
    return t_ours, t_blas, peak, curv.hessian, threads


def threaded_zarr_case(path, model):
    """In a fresh process: out-of-core curvature on the threaded scheduler."""
    import dask
    import dask.array as da

    X = da.from_zarr(str(path / "X.zarr"))
    y = da.from_zarr(str(path / "y.zarr"))
    with warnings.catch_warnings(), dask.config.set(scheduler="threads", num_workers=2):
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        curv = ts.curvature(model, X, y, stationarity_tol=np.inf)
        wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return wall, SimpleNamespace(hessian=curv.hessian), np.nan, peak


def sampled(client, fn, label):
    """Run ``fn`` and return (wall time, result, peak extra process memory/worker)."""
    from distributed.diagnostics import MemorySampler

    n_workers = len(client.scheduler_info()["workers"])
    base = sum(client.run(_rss).values()) / n_workers
    ms = MemorySampler()
    t0 = time.perf_counter()
    with ms.sample(label, measure="process", interval=0.1):
        out = fn()
    wall = time.perf_counter() - t0
    series = ms.to_pandas()[label]
    return wall, out, series.max() / n_workers - base, series.max() / n_workers


def _rss():
    import psutil

    return psutil.Process().memory_info().rss


def cluster_cases(path, model, chunk, repeat, only):
    import dask.array as da
    from distributed import Client, LocalCluster

    out = {}
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None, memory_limit="8GiB",
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        Xz = da.from_zarr(str(path / "X.zarr"))
        yz = da.from_zarr(str(path / "y.zarr"))

        def curvature(X, y):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ts.curvature(model, X, y, stationarity_tol=np.inf)

        curvature(Xz[:chunk], yz[:chunk])  # warm the workers' imports
        if "zarr" in only:
            out["zarr"] = sampled(client, lambda: curvature(Xz, yz), "zarr")
        if "dask" in only:
            X, y = client.persist([Xz, yz])
            w = da.random.default_rng(1).random(X.shape[0], chunks=(X.chunks[0],))
            w = client.persist(w)
            best = None
            for _ in range(repeat):
                res = sampled(client, lambda X=X, y=y: curvature(X, y), "dask")
                best = res if best is None or res[0] < best[0] else best
            out["dask"] = best
            wX = X * w[:, None]
            t_blas, _ = best_of(lambda: da.compute(X.T @ wX, X.T @ wX), repeat)
            out["dask_blas"] = t_blas
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--p", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--only", nargs="+", default=["numpy", "dask", "zarr", "zarr-thr"]
    )
    parser.add_argument("--store", default=None, help="directory for the zarr store")
    args = parser.parse_args()
    p = args.p
    chunk = CHUNK_FLOATS // p
    print(
        f"{'n':>8}{'p':>5}{'method':>10}{'time [s]':>10}{'blas [s]':>10}"
        f"{'/blas':>7}{'/numpy':>8}{'peak/worker [GB]':>18}{'extra [GB]':>12}"
    )
    for n in (int(v) for v in args.n):
        root = Path(tempfile.mkdtemp(dir=args.store, prefix="scale_out_"))
        try:
            t0 = time.perf_counter()
            from distributed import Client, LocalCluster

            with (
                LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                             dashboard_address=None) as cl,
                Client(cl),
            ):  # fmt: skip
                write_store(root, n, p, chunk)
            t_write = time.perf_counter() - t0
            gb = n * p * 8 / 1e9
            print(f"# n={n:.0e}: wrote {gb:.1f} GB of X to zarr in {t_write:.0f} s",
                  flush=True)  # fmt: skip
            model = fitted_model(root)
            res = {}
            if "numpy" in args.only:
                with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                    res["numpy"] = pool.submit(
                        numpy_case, root, model, chunk, args.repeat
                    ).result()
            if "zarr-thr" in args.only:
                with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                    job = pool.submit(threaded_zarr_case, root, model)
                    res["zarr-thr"] = job.result()
            if {"dask", "zarr"} & set(args.only):
                res.update(cluster_cases(root, model, chunk, args.repeat, args.only))
            t_np = res["numpy"][0] if "numpy" in res else np.nan
            if "numpy" in res:
                t, tb, peak = res["numpy"][:3]
                print(f"{n:>8.0e}{p:>5}{'numpy':>10}{t:>10.2f}{tb:>10.2f}"
                      f"{t / tb:>7.2f}{1.0:>8.2f}{peak / 1e9:>18.2f}")  # fmt: skip
            tb_np = res["numpy"][1] if "numpy" in res else np.nan
            if "numpy" in res:
                res["threads"] = res["numpy"][4]
            for method in ("threads", "dask", "zarr", "zarr-thr"):
                if method not in res:
                    continue
                # the cluster against the products on the cluster, one process
                # against the products in one process
                on_cluster = method in ("dask", "zarr")
                tb = res.get("dask_blas", tb_np) if on_cluster else tb_np
                t, curv, extra, peak = res[method]
                if "numpy" in res:
                    H_ref = res["numpy"][3]
                    err = np.max(np.abs(curv.hessian - H_ref)) / np.max(np.abs(H_ref))
                    assert err < 1e-10, err
                print(f"{n:>8.0e}{p:>5}{method:>10}{t:>10.2f}{tb:>10.2f}"
                      f"{t / tb:>7.2f}{t / t_np:>8.2f}{peak / 1e9:>18.2f}"
                      f"{extra / 1e9:>12.2f}", flush=True)  # fmt: skip
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
