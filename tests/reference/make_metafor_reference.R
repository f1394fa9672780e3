# Reference values for oca_experiments.summarize.meta (random-effects meta-analysis), from R metafor.
# Run: Rscript tests/reference/make_metafor_reference.R  (Debian: apt-get install r-cran-metafor r-cran-jsonlite)
# Writes tests/reference/metafor_reference.json. The test suite reads the JSON only; it never needs R.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
ctl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-14)
datasets <- list()
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)  # Viechtbauer 2010
datasets$bcg <- list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi))
# small homogeneous set: tau2 truncated at 0 by every method
datasets$homogeneous <- list(yi = c(0.10, 0.12, 0.09, 0.11), vi = c(0.04, 0.05, 0.03, 0.06))
# six CSO-like estimates with unequal precision
datasets$six <- list(yi = c(0.41, 0.05, 0.33, 0.62, -0.10, 0.28), vi = c(0.010, 0.030, 0.015, 0.050, 0.020, 0.012))
out <- list(metafor_version = as.character(packageVersion("metafor")), datasets = list())
for (name in names(datasets)) {
  d <- datasets[[name]]
  res <- list(yi = d$yi, vi = d$vi, fits = list())
  for (method in c("REML", "PM", "DL")) {
    for (test in c("z", "knha", "adhoc")) {  # adhoc: Knapp-Hartung with the scale floored at 1
      fit <- rma(yi = d$yi, vi = d$vi, method = method, test = test, control = ctl)
      p <- predict(fit)
      res$fits[[paste(method, test, sep = "_")]] <- list(
        tau2 = fit$tau2, mu = as.numeric(fit$beta), se = fit$se, ci_low = fit$ci.lb, ci_high = fit$ci.ub,
        pval = fit$pval, pi_low = p$pi.lb, pi_high = p$pi.ub, I2 = fit$I2, H2 = fit$H2, Q = fit$QE,
        Q_p = fit$QEp, k = fit$k)
    }
  }
  out$datasets[[name]] <- res
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/metafor_reference.json")
