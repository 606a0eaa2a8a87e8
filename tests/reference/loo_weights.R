# Reference values of R's loo for ticselect's paired differences and model weights.
#
# Run from the repository root, once, after make_loo_inputs.py:
#     Rscript tests/reference/loo_weights.R
# Reads tests/reference/loo_<case>.csv (losses[i, k] = 2 * NLL of row i left out,
# the deviance scale of ticselect) and writes tests/reference/loo_reference.json.
# loo works on the ELPD scale: elpd_loo[i, k] = -losses[i, k] / 2.
#
# Each matrix becomes one "psis_loo" object per column whose pointwise elpd_loo is
# that column (loo_compare and loo_model_weights read only the pointwise elpd and
# the estimates; no draws are involved), so loo's own functions run on the same
# matrix as ticselect.
suppressPackageStartupMessages(library(loo))
library(jsonlite)

as_loo <- function(elpd, name) {
  N <- length(elpd)
  pw <- cbind(elpd_loo = elpd, mcse_elpd_loo = 0, p_loo = 0, looic = -2 * elpd,
              influence_pareto_k = 0)
  est <- cbind(Estimate = c(sum(elpd), 0, -2 * sum(elpd)),
               SE = c(sqrt(N) * sd(elpd), 0, 2 * sqrt(N) * sd(elpd)))
  rownames(est) <- c("elpd_loo", "p_loo", "looic")
  structure(list(estimates = est, pointwise = pw,
                 diagnostics = list(pareto_k = rep(0, N), n_eff = rep(1000, N))),
            dims = c(1000L, N), model_name = name,
            class = c("psis_loo", "importance_sampling_loo", "loo"))
}

cases <- c("breast_subsets", "poisson_path", "diabetes_small")
out <- list(provenance = list(
  script = "tests/reference/loo_weights.R",
  inputs = "tests/reference/make_loo_inputs.py",
  R = R.version.string,
  loo = as.character(packageVersion("loo")),
  date = as.character(Sys.Date()),
  notes = paste(
    "elpd_diff, se_diff: loo_compare; p_worse = pnorm(0, elpd_diff, se_diff) as",
    "loo >= 2.8 defines it (computed here from loo_compare's columns, the installed",
    "loo predates the column); stacking: loo_model_weights(method = 'stacking') with",
    "optim_control = list(reltol = 1e-14) (loo's defaults otherwise) and its",
    "default options too; pseudobma: BB = FALSE (exact) and BB = TRUE with",
    "BB_n = 100000, set.seed(20240601) (Monte Carlo: compare within its error)")))

for (case in cases) {
  L <- as.matrix(read.csv(file.path("tests/reference", paste0("loo_", case, ".csv")),
                          check.names = FALSE))
  elpd <- -L / 2
  loos <- lapply(seq_len(ncol(elpd)), function(k) as_loo(elpd[, k], colnames(L)[k]))
  names(loos) <- colnames(L)
  cmp <- loo_compare(loos)
  p_worse <- pnorm(0, cmp[, "elpd_diff"], cmp[, "se_diff"])
  p_worse[cmp[, "elpd_diff"] == 0] <- NA
  stack_tight <- loo_model_weights(loos, method = "stacking",
                                   optim_control = list(reltol = 1e-14))
  stack_default <- loo_model_weights(loos, method = "stacking")
  bma <- loo_model_weights(loos, method = "pseudobma", BB = FALSE)
  set.seed(20240601)
  bma_plus <- loo_model_weights(loos, method = "pseudobma", BB = TRUE, BB_n = 100000)
  out[[case]] <- list(
    models = colnames(L),
    compare_order = rownames(cmp),
    elpd_diff = unname(cmp[, "elpd_diff"]),
    se_diff = unname(cmp[, "se_diff"]),
    p_worse = unname(p_worse),
    stacking = unname(as.numeric(stack_tight)),
    stacking_default = unname(as.numeric(stack_default)),
    pseudobma = unname(as.numeric(bma)),
    pseudobma_plus = unname(as.numeric(bma_plus))
  )
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/reference/loo_reference.json")
