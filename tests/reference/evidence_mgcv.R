# Reference values for ticselect.evidence from R's mgcv (Wood 2011, method "REML"/"ML").
#
# Regenerate (from the repository root; R with mgcv and jsonlite):
#   python -m tests.reference.evidence_mgcv_data /tmp/evidence_mgcv_data
#   Rscript tests/reference/evidence_mgcv.R /tmp/evidence_mgcv_data \
#       tests/reference/evidence_mgcv.json
#
# Model: y ~ X with an unpenalised intercept and a ridge penalty on the slopes through
# paraPen (penalty matrix I): mgcv maximises l(beta) - (1/2) sum_j sp_j beta_j' S_j beta_j
# on the log-likelihood scale (dispersion 1 for binomial and Poisson), so sp is the
# prior precision lambda of ticselect in loss units.
# gcv.ubre is mgcv's minimised criterion: minus the Laplace restricted (REML) or
# marginal (ML) log-likelihood at the given or estimated sp.
suppressPackageStartupMessages({library(mgcv); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "evidence_mgcv_data"
out <- if (length(args) >= 2) args[2] else "evidence_mgcv.json"
ctrl <- gam.control(epsilon = 1e-14, maxit = 500, newton = list(conv.tol = 1e-10))

read <- function(name) {
  d <- read.csv(file.path(dir, paste0(name, ".csv")))
  list(y = d$y, X = as.matrix(d[, -1]))
}

fit <- function(y, X, fam, method, sp = NULL, groups = NULL) {
  if (is.null(groups)) groups <- list(seq_len(ncol(X)))
  env <- list(y = y)
  pp <- list()
  terms <- character(0)
  for (g in seq_along(groups)) {
    nm <- paste0("X", g)
    env[[nm]] <- X[, groups[[g]], drop = FALSE]
    pp[[nm]] <- list(diag(length(groups[[g]])))
    if (!is.null(sp)) pp[[nm]]$sp <- sp[g]  # fixed: paraPen's own sp
    terms <- c(terms, nm)
  }
  f <- as.formula(paste("y ~", paste(terms, collapse = " + ")))
  gam(f, data = env, family = fam, paraPen = pp, method = method,
      control = ctrl)
}

one <- function(m) list(score = unname(m$gcv.ubre), sp = unname(m$sp),
                        coef = unname(coef(m)), converged = m$converged)

glms <- list(
  breast_cancer = list(family = binomial(), family_name = "binomial/logit",
                       source = "sklearn.datasets.load_breast_cancer, columns 0-9, standardised"),
  randhie = list(family = poisson(), family_name = "poisson/log",
                 source = "statsmodels.datasets.randhie, first 1000 rows, y = mdvis, standardised")
)
res <- list(
  provenance = list(
    generated_by = "tests/reference/evidence_mgcv.R",
    data_by = "tests/reference/evidence_mgcv_data.py",
    R = R.version.string,
    mgcv = as.character(packageVersion("mgcv")),
    date = format(Sys.Date())
  ),
  units = paste(
    "mgcv's penalised log-likelihood is l(beta) - 0.5 * sum_j sp_j * beta_j' S_j beta_j",
    "with S_j = I on the slopes of group j and phi = 1 (binomial, Poisson): sp_j is",
    "ticselect's prior precision / penalty lambda in loss units (Curvature.penalty).",
    "scikit-learn: LogisticRegression(C = 1 / sp) (lambda = 1/C, intercept unpenalised);",
    "PoissonRegressor(alpha = sp / n) (lambda = alpha * n). A per-group penalty is",
    "ticselect's prior_precision vector with sp_j on group j's slopes, 0 on the intercept.",
    "score = gcv.ubre = - log restricted (REML) / marginal (ML) likelihood, Laplace;",
    "ticselect: evidence(curv).log_evidence = -score(REML),",
    "evidence(curv, unpenalized='profile').log_evidence = -score(ML)."
  ),
  fixed_sp = list(), estimated = list()
)
for (name in names(glms)) {
  d <- read(name)
  spec <- glms[[name]]
  rows <- list()
  for (sp in c(0.5, 5)) {
    rows[[length(rows) + 1]] <- list(
      sp = sp, REML = one(fit(d$y, d$X, spec$family, "REML", sp = sp)),
      ML = one(fit(d$y, d$X, spec$family, "ML", sp = sp)))
  }
  res$fixed_sp[[name]] <- list(family = spec$family_name, source = spec$source,
                               n = length(d$y), p = ncol(d$X),
                               checksum = c(sum(d$y), sum(d$X), sum(d$X^2)),
                               fits = rows)
}
# estimated smoothing parameters: one penalty (breast cancer, logistic), and three
# penalties (synthetic logistic, groups of 3 columns: strong, medium, weak effects)
d <- read("breast_cancer")
res$estimated$breast_cancer <- list(
  family = "binomial/logit", groups = list(0:9),
  checksum = c(sum(d$y), sum(d$X), sum(d$X^2)),
  REML = one(fit(d$y, d$X, binomial(), "REML")),
  ML = one(fit(d$y, d$X, binomial(), "ML")))
d <- read("three_groups")
groups <- list(1:3, 4:6, 7:9)
res$estimated$three_groups <- list(
  family = "binomial/logit", groups = lapply(groups, function(g) g - 1),
  source = "tests/reference/evidence_mgcv_data.py::three_groups (seed 2025, n = 400)",
  checksum = c(sum(d$y), sum(d$X), sum(d$X^2)),
  REML = one(fit(d$y, d$X, binomial(), "REML", groups = groups)),
  ML = one(fit(d$y, d$X, binomial(), "ML", groups = groups)))
write(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), out)
cat("wrote", out, "\n")
