"""compare_formulas against statsmodels' own fits of the same formulas."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose
from scipy import stats

import ticselect as ts

# the same statsmodels fit (same rows, same IRLS iterations) on both sides: only
# floating-point summation order differs
RTOL = 1e-10


@pytest.fixture(scope="module")
def anes():
    return sm.datasets.anes96.load_pandas().data


@pytest.fixture(scope="module")
def fair():
    return sm.datasets.fair.load_pandas().data


@pytest.fixture(scope="module")
def randhie():
    return sm.datasets.randhie.load_pandas().data.head(5000)


ANES = {
    "null": "vote ~ 1",
    "ideology": "vote ~ selfLR",
    "+ party": "vote ~ selfLR + C(PID)",
    "+ party x ideology": "vote ~ selfLR * C(PID)",
    "+ education": "vote ~ selfLR + C(PID) + educ",
}


def test_binomial_rows_equal_statsmodels_anes96(anes):
    table = ts.compare_formulas(anes, ANES, family="binomial")
    rows = table.to_dict()
    assert table.n_dropped == 0 and set(rows) == set(ANES)
    for name, formula in ANES.items():
        res = smf.glm(formula, anes, family=sm.families.Binomial()).fit()
        row = rows[name]
        assert_allclose(row["loglik"], res.llf, rtol=RTOL)
        assert_allclose(row["aic"], res.aic, rtol=RTOL)
        assert_allclose(row["bic"], res.bic_llf, rtol=RTOL)
        assert row["k"] == res.df_model + 1 and row["n_samples"] == res.nobs
        assert table.estimators[name].params.index.tolist() == res.params.index.tolist()
    # nesting: each tested against the largest candidate nested in it
    assert rows["ideology"]["lr_vs"] == "null"
    assert rows["+ party"]["lr_vs"] == "ideology"
    assert rows["+ party x ideology"]["lr_vs"] == "+ party"
    assert rows["+ education"]["lr_vs"] == "+ party"
    assert rows["null"]["lr_vs"] is None and np.isnan(rows["null"]["lr"])
    # statsmodels' own likelihood-ratio test against the intercept-only model
    logit = smf.logit(ANES["ideology"], anes).fit(disp=0)
    assert_allclose(rows["ideology"]["lr"], logit.llr, rtol=1e-8)
    # p ~ 1e-85: its relative error is LR's absolute error (~1e-9) times LR / 2
    assert_allclose(rows["ideology"]["lr_p"], logit.llr_pvalue, rtol=1e-6)
    assert rows["ideology"]["lr_df"] == logit.df_model


def test_gaussian_rows_and_lr_equal_ols_fair(fair):
    formulas = [
        "affairs ~ rate_marriage",
        "affairs ~ rate_marriage + C(religious)",
        "affairs ~ rate_marriage * C(religious)",
        "affairs ~ rate_marriage * C(religious) + age + yrs_married",
    ]
    table = ts.compare_formulas(fair, formulas)
    rows = table.to_dict()
    fits = [smf.ols(f, fair).fit() for f in formulas]
    n = len(fair)
    for f, res in zip(formulas, fits, strict=True):
        row = rows[f]
        # ML σ² in both log-likelihoods; ticselect counts σ² as a parameter (as
        # R's AIC(glm(...)) does), statsmodels' OLS aic/bic do not
        assert_allclose(row["loglik"], res.llf, rtol=RTOL)
        assert_allclose(row["aic"], res.aic + 2, rtol=RTOL)
        assert_allclose(row["bic"], res.bic + np.log(n), rtol=RTOL)
        assert row["k"] == res.df_model + 2
    for small, big in zip(fits[:-1], fits[1:], strict=True):
        lr, p, df = big.compare_lr_test(small)
        row = rows[big.model.formula]
        assert row["lr_vs"] == small.model.formula
        assert_allclose(row["lr"], lr, rtol=1e-9)
        assert_allclose(row["lr_p"], p, rtol=1e-7, atol=1e-300)
        assert row["lr_df"] == df


def test_poisson_rows_equal_statsmodels_randhie(randhie):
    formulas = [
        "mdvis ~ 1",
        "mdvis ~ lncoins + C(idp)",
        "mdvis ~ lncoins * C(idp) + physlm",
    ]
    table = ts.compare_formulas(randhie, formulas, family="poisson")
    rows = table.to_dict()
    for f in formulas:
        res = smf.glm(f, randhie, family=sm.families.Poisson()).fit()
        assert_allclose(rows[f]["loglik"], res.llf, rtol=RTOL)
        assert_allclose(rows[f]["aic"], res.aic, rtol=RTOL)
        assert_allclose(rows[f]["bic"], res.bic_llf, rtol=RTOL)
    res = smf.poisson(formulas[1], randhie).fit(disp=0)
    row = rows[formulas[1]]
    assert row["lr_vs"] == formulas[0]
    assert_allclose(row["lr"], res.llr, rtol=1e-7)
    assert_allclose(row["lr_p"], res.llr_pvalue, rtol=1e-6, atol=1e-300)


def test_missing_values_dropped_once_and_counted(fair):
    data = fair.copy()
    data.loc[[3, 10, 200], "age"] = np.nan
    data.loc[[10, 11], "religious"] = np.nan  # row 10 misses both
    formulas = ["affairs ~ rate_marriage + C(religious)", "affairs ~ age"]
    table = ts.compare_formulas(data, formulas, family="poisson")
    assert table.n_dropped == 4
    assert table.missing == {"religious": 2, "age": 3}
    common = data.dropna(subset=["age", "religious"])
    for f in formulas:
        res = smf.glm(f, common, family=sm.families.Poisson()).fit()
        assert table.criteria[f].n_samples == len(common) == len(data) - 4
        assert_allclose(table.criteria[f].loglik, res.llf, rtol=RTOL)
    text = table.summary()
    assert "4 rows with missing values dropped (age 3, religious 2)" in text
    html = table._repr_html_()
    assert "4 rows with missing values dropped" in html
    # one row per formula, best first, with its LR cell empty or filled
    body = html.split("<tbody>")[1]
    assert body.count("<tr>") == 2
    assert body.index(table.names[0]) < body.index(table.names[1])


def test_nullable_pandas_dtypes_equal_numpy_ones(fair):
    # pd.NA in Int64/string/boolean columns (convert_dtypes, dtype_backend=...) was
    # "boolean value of NA is ambiguous" from patsy
    data = fair.head(300).copy()
    data["young"] = data["age"] < 30
    data["job"] = data["occupation"].map(lambda v: f"job{int(v)}")
    data.loc[[3, 4], "age"] = np.nan
    data.loc[[5], "job"] = None
    formulas = ["affairs ~ age + young", "affairs ~ age + job"]
    plain = ts.compare_formulas(data, formulas, family="poisson")
    nullable = ts.compare_formulas(data.convert_dtypes(), formulas, family="poisson")
    assert nullable.n_dropped == plain.n_dropped == 3
    assert nullable.missing == plain.missing == {"age": 2, "job": 1}
    for f in formulas:
        for col in ("loglik", "tic", "d_tic_se"):
            # identical design matrices and fits
            assert_allclose(
                nullable.to_dict()[f][col], plain.to_dict()[f][col], rtol=1e-12
            )


def test_missing_groups_array_is_counted_by_name(randhie):
    data = randhie.head(200)
    groups = (np.arange(200) // 5).astype(float)
    groups[[0, 7, 9]] = np.nan
    table = ts.compare_formulas(data, ["mdvis ~ lncoins"], family="poisson",
                                groups=groups)  # fmt: skip
    assert table.n_dropped == 3 and table.missing == {"groups": 3}
    assert "3 rows with missing values dropped (groups 3)" in table.summary()


def test_weights_equal_duplicated_rows(anes):
    rng = np.random.default_rng(0)
    data = anes.head(300)
    w = rng.integers(1, 4, size=len(data))
    formulas = ["vote ~ selfLR", "vote ~ selfLR + C(PID)"]
    weighted = ts.compare_formulas(data, formulas, family="binomial", weights=w)
    repeated = data.loc[data.index.repeat(w)].reset_index(drop=True)
    dup = ts.compare_formulas(repeated, formulas, family="binomial")
    for f in formulas:
        a, b = weighted.to_dict()[f], dup.to_dict()[f]
        for col in ("n_samples", "loglik", "aic", "bic", "tic", "lr", "d_tic_se"):
            # same likelihood, different IRLS sums: optimisation tolerance only
            assert_allclose(a[col], b[col], rtol=1e-7, err_msg=col)


def test_groups_tic_equals_cluster_sandwich_trace(randhie):
    data = randhie.head(3000)
    groups = np.arange(len(data)) // 7
    f = "mdvis ~ lncoins + physlm"
    table = ts.compare_formulas(data, [f], family="poisson", groups=groups)
    res = smf.glm(f, data, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}
    )
    H = -res.model.hessian(res.params)  # observed = expected for the canonical link
    # tr(H⁻¹ C_g) = tr(H · H⁻¹ C_g H⁻¹), the cluster sandwich without correction
    assert_allclose(
        table.criteria[f].tic_penalty, np.trace(H @ res.cov_params()), rtol=1e-8
    )
    # one row per group: the ordinary TIC
    single = ts.compare_formulas(data, [f], family="poisson", groups=np.arange(3000))
    plain = ts.compare_formulas(data, [f], family="poisson")
    assert_allclose(single.criteria[f].tic, plain.criteria[f].tic, rtol=1e-12)
    assert table.criteria[f].tic != plain.criteria[f].tic


def test_nesting_detection_and_flags():
    rng = np.random.default_rng(1)
    n = 60
    data = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "region": rng.choice(["north", "south", "east"], size=n),
        }
    )
    data["y"] = (data["a"] + rng.normal(size=n) > 0).astype(float)
    data["sep"] = data["y"]
    formulas = {
        "a": "y ~ a",
        "log": "y ~ np.exp(a)",
        "a*b": "y ~ a * b",
        "a+b+a:b": "y ~ a + b + a:b",
        "region": "y ~ a + region",
        "twice": "y ~ a + I(2 * a)",
        "separated": "y ~ a + sep",
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = ts.compare_formulas(data, formulas, family="binomial")
    rows = table.to_dict()
    assert rows["log"]["lr_vs"] is None  # exp(a) does not span a
    assert rows["a*b"]["lr_vs"] == "a" and rows["a*b"]["lr_df"] == 2
    assert rows["region"]["lr_vs"] == "a" and rows["region"]["lr_df"] == 2
    assert rows["twice"]["lr_vs"] is None  # same column space as y ~ a
    # flags: the names joined by "," (empty when reliable), as in compare()
    assert "rank_deficient" in rows["twice"]["flags"].split(",")
    assert "separation" in rows["separated"]["flags"].split(",")
    assert rows["a"]["flags"] == ""
    assert any("separated: " in str(w.message) for w in caught)
    # the text column is coded against its first level, as statsmodels does
    names = table.estimators["region"].params.index.tolist()
    assert names == ["Intercept", "region[T.north]", "region[T.south]", "a"]


@pytest.mark.parametrize(
    "formulas, kwargs, match",
    [
        (["y ~ a +"], {}, r"formula 'y ~ a \+': expected a noun"),
        (["y ~ A"], {}, r"'A' is not a column of data \(did you mean 'a'\?\)"),
        (["y ~ a", "I(2 * y) ~ a"], {}, "different responses"),
        (["y"], {}, "has no '~'"),
        (["y ~ a"], {"family": "poisson"}, "outside the support of the poisson"),
        (["y ~ a"], {"family": "cauchy"}, "family must be one of"),
        (["y ~ a"], {"link": "logit"}, "not available for the gaussian"),
        (["y ~ a"], {"weights": "w"}, "weights='w' is not a column"),
        ([], {}, "at least one formula"),
        (["y ~ a", "y ~ a"], {}, r"\['y ~ a'\] occur more than once.*names="),
        (["y ~ b"], {}, "column 'b' has 1 infinite values"),
        (["y ~ a", "y ~ c"], {}, r"no row has every variable.*'c': 4"),
        (["y ~ a"], {"weights": [1.0, -1.0, 1.0, 1.0]}, "non-negative"),
        (["y ~ a"], {"weights": [0.0, 0.0, 0.0, 0.0]}, "not all zero"),
        (["y ~ a"], {"offset": [0.0, np.inf, 0.0, 0.0]}, "offset has infinite"),
        (["y ~ a"], {"groups": [1, 2]}, "groups must be a column name or a 1-d"),
        (
            ["y ~ a"],
            {"family": sm.families.NegativeBinomial(alpha=1.0)},
            "outside the support of the negativebinomial family",
        ),
        (
            ["y ~ a"],
            {"family": sm.families.InverseGaussian()},
            "formula 'y ~ a': the response is outside the support of the inverse_g",
        ),
    ],
)
def test_errors(formulas, kwargs, match):
    data = pd.DataFrame({"y": [-1.0, 2.0, 3.0, 5.0], "a": [1.0, 2.0, 2.5, 4.0]})
    data["b"] = [1.0, np.inf, 0.0, 1.0]
    data["c"] = np.nan
    with pytest.raises(ValueError, match=match):
        ts.compare_formulas(data, formulas, **kwargs)


def test_two_level_text_response_is_a_clear_error():
    # a Gaussian fit of a text response reached statsmodels' scale estimate with a
    # two-column endog: "operands could not be broadcast together"
    data = pd.DataFrame({"t": ["no", "yes", "yes", "no", "yes"], "a": np.arange(5.0)})
    with pytest.raises(ValueError, match=r"formula 't ~ a': the response is text"):
        ts.compare_formulas(data, ["t ~ a"])


def test_lr_p_value_is_chi2(anes):
    table = ts.compare_formulas(
        anes, ["vote ~ selfLR", "vote ~ selfLR + educ"], family="binomial"
    )
    row = table.to_dict()["vote ~ selfLR + educ"]
    small = table.to_dict()["vote ~ selfLR"]
    assert_allclose(row["lr"], 2 * (row["loglik"] - small["loglik"]), rtol=1e-12)
    assert_allclose(row["lr_p"], stats.chi2.sf(row["lr"], 1), rtol=1e-12)


def test_row_order_and_index_do_not_matter(fair):
    formulas = ["affairs ~ age", "affairs ~ age + C(religious)"]
    data = fair.head(800)
    a = ts.compare_formulas(data, formulas, family="poisson")
    perm = np.random.default_rng(2).permutation(len(data))
    shuffled = data.iloc[perm].set_index(pd.Index([f"r{i}" for i in perm]))
    shuffled.loc[shuffled.index[:3], "age"] = np.nan  # dropped by label, not position
    b = ts.compare_formulas(shuffled, formulas, family="poisson")
    kept = data.drop(data.index[perm[:3]])
    c = ts.compare_formulas(kept, formulas, family="poisson")
    assert b.n_dropped == 3
    for f in formulas:
        for col in ("loglik", "aic", "bic", "tic", "lr", "d_tic_se"):
            # same rows in another order: summation order only
            assert_allclose(b.to_dict()[f][col], c.to_dict()[f][col], rtol=1e-8)
        assert a.to_dict()[f]["n_samples"] == 800
    # a cluster column follows its rows through the shuffle
    site = np.arange(len(data)) // 8
    gb = ts.compare_formulas(
        shuffled.assign(site=site[perm]), formulas, family="poisson", groups="site"
    )
    gc = ts.compare_formulas(
        kept.assign(site=np.delete(site, perm[:3])), formulas, family="poisson",
        groups="site",
    )  # fmt: skip
    for f in formulas:
        for col in ("tic", "d_tic_se"):
            assert_allclose(gb.to_dict()[f][col], gc.to_dict()[f][col], rtol=1e-8)


def test_offset_equals_statsmodels(randhie):
    data = randhie.head(3000)
    offset = np.log1p(data["disea"].to_numpy())
    f = "mdvis ~ lncoins + C(idp)"
    table = ts.compare_formulas(data, [f], family="poisson", offset=offset)
    res = smf.glm(f, data, family=sm.families.Poisson(), offset=offset).fit()
    assert_allclose(table.criteria[f].loglik, res.llf, rtol=RTOL)
    assert_allclose(table.criteria[f].aic, res.aic, rtol=RTOL)


@pytest.fixture(scope="module")
def affairs():
    data = sm.datasets.fair.load_pandas().data
    data["aff"] = np.round(data["affairs"])  # over-dispersed counts (χ²/df ≈ 5)
    return data


def test_misspecified_rows_show_robust_wald_beside_lr(affairs):
    small = "aff ~ rate_marriage + age"
    big = "aff ~ rate_marriage + age + yrs_married + religious"
    table = ts.compare_formulas(affairs, [small, big], family="poisson")
    row = table.to_dict()[big]
    assert (
        "misspecified" in row["flags"] and "misspecified" in table.criteria[big].flags
    )
    # the oracle: statsmodels' Wald test with the HC0 sandwich, same restriction
    res = smf.glm(big, affairs, family=sm.families.Poisson()).fit(cov_type="HC0")
    ref = res.wald_test("yrs_married = 0, religious = 0", scalar=True)
    assert_allclose(row["wald"], ref.statistic, rtol=1e-6)
    assert_allclose(row["wald_p"], ref.pvalue, rtol=1e-4, atol=1e-300)
    # the LR statistic is the model-based one, far larger here
    assert row["lr_df"] == 2 and row["lr"] > 5 * row["wald"]
    lines = table.summary().splitlines()
    header = lines[0].split()
    assert header.index("wald") == header.index("lr_p") + 1
    assert any("robust (sandwich) Wald" in line for line in lines)
    # over-dispersion does not question TIC: the recommendation can be TIC's
    assert table.recommended == big


def test_well_specified_formulas_keep_the_plain_screen():
    rng = np.random.default_rng(2)
    n = 400
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["y"] = rng.poisson(np.exp(0.3 + 0.4 * frame["a"]))
    table = ts.compare_formulas(frame, ["y ~ a", "y ~ a + b"], family="poisson")
    assert not any("misspecified" in c.flags for c in table.criteria.values())
    assert "wald" not in table.summary().splitlines()[0].split()
    assert np.isfinite(table.to_dict()["y ~ a + b"]["wald"])  # in the full table
    assert table.recommended in ("y ~ a", "y ~ a + b")
    assert np.all(np.isfinite([r["alo"] for r in table.to_dict().values()]))
