# Reference values for tests/curvature/test_l1_glmnet.py: an elastic-net logistic
# regression fitted by glmnet, to check ticselect's L1/elastic-net curvature (active
# set, log-likelihood, null model) against an independent implementation.
#
# Data: the Pima Indians diabetes data of MASS (Pima.tr and Pima.te stacked, 532 rows,
# 7 features, type = "Yes" as 1).  The raw features are stored; the fits use them
# standardised by scale() (mean 0, sd with n - 1), which the Python test repeats.
#
# glmnet minimises -loglik/n + lambda * ((1 - alpha)/2 ||b||^2 + alpha ||b||_1) with
# an unpenalised intercept; standardize = FALSE so the stored X is used as is.
# scikit-learn's LogisticRegression(C = 1/(n lambda), l1_ratio = alpha) minimises
# the same objective times C n.
#
# Regenerate (Debian r-cran-glmnet 4.1.6, R 4.2.2):
#   Rscript tests/reference/glmnet_enet_logistic.R > tests/reference/glmnet_enet_logistic.json
suppressMessages({
  library(MASS)
  library(glmnet)
  library(jsonlite)
})
pima <- rbind(Pima.tr, Pima.te)
X_raw <- as.matrix(pima[, c("npreg", "glu", "bp", "skin", "bmi", "ped", "age")])
X <- scale(X_raw)
y <- as.numeric(pima$type == "Yes")
alpha <- 0.5
lambdas <- c(0.005, 0.05, 0.15, 0.2)
fits <- lapply(lambdas, function(lam) {
  fit <- glmnet(X, y, family = "binomial", alpha = alpha, lambda = lam,
                standardize = FALSE, intercept = TRUE, thresh = 1e-16,
                maxit = 1e7)
  beta <- as.numeric(as.matrix(fit$beta))
  list(
    lambda = lam,
    intercept = as.numeric(fit$a0),
    coef = beta,
    deviance = as.numeric(deviance(fit)),
    null_deviance = fit$nulldev,
    dev_ratio = as.numeric(fit$dev.ratio),
    df = as.integer(fit$df),
    active = which(beta != 0) - 1L
  )
})
out <- list(
  provenance = paste(
    "tests/reference/glmnet_enet_logistic.R;",
    R.version.string, "; glmnet", as.character(packageVersion("glmnet")),
    "; MASS", as.character(packageVersion("MASS"))
  ),
  alpha = alpha,
  feature_names = colnames(X),
  X_raw = unname(X_raw),
  y = y,
  fits = fits
)
cat(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"))
cat("\n")
