# Reference values for oca_experiments.measurement (multi-group CFA invariance), from R lavaan.
# Run from the repository root: Rscript tests/reference/invariance/reference.R
# (Debian: apt-get install r-cran-lavaan r-cran-jsonlite). Writes tests/reference/invariance/reference.json; the
# test suite reads the JSON only and never needs R.
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
here <- "tests/reference/invariance"
data <- read.csv(file.path(here, "items.csv"))
groups <- c("comparison baseline", "comparison endline", "treated baseline", "treated endline")
model <- "trust =~ h1 + h2 + h3 + h4"
levels <- list(configural = "", metric = c("loadings"), scalar = c("loadings", "intercepts"))
out <- list(lavaan_version = as.character(packageVersion("lavaan")), groups = groups, fits = list())
for (level in names(levels)) {
  fit <- cfa(model, data = data, group = "group", group.label = groups, group.equal = levels[[level]],
             estimator = "ML", likelihood = "normal", meanstructure = TRUE,
             control = list(rel.tol = 1e-10, iter.max = 100000))
  m <- fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
                          "srmr", "baseline.chisq", "baseline.df"))
  est <- lavInspect(fit, "est")
  per_group <- lapply(groups, function(g) list(
    loadings = as.numeric(est[[g]]$lambda[, 1]), intercepts = as.numeric(est[[g]]$nu[, 1]),
    residual_variances = as.numeric(diag(est[[g]]$theta)), factor_variance = as.numeric(est[[g]]$psi[1, 1]),
    factor_mean = as.numeric(est[[g]]$alpha[1, 1])))
  names(per_group) <- groups
  out$fits[[level]] <- c(as.list(unclass(m)), list(converged = lavInspect(fit, "converged"), groups = per_group))
}
# Partial scalar invariance: item h3's intercepts free across groups (group.partial), the rest equal.
partial <- cfa(model, data = data, group = "group", group.label = groups, group.equal = c("loadings", "intercepts"),
               group.partial = c("h3~1"), estimator = "ML", likelihood = "normal", meanstructure = TRUE,
               control = list(rel.tol = 1e-10, iter.max = 100000))
pm <- fitMeasures(partial, c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))
pest <- lavInspect(partial, "est")
out$partial_h3 <- c(as.list(unclass(pm)), list(
  intercepts = lapply(groups, function(g) as.numeric(pest[[g]]$nu[, 1])),
  factor_means = sapply(groups, function(g) as.numeric(pest[[g]]$alpha[1, 1]), USE.NAMES = FALSE)))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "reference.json"))

# Holzinger & Swineford (1939), lavaan's own data: grade-7/8 pupils of two schools (Pasteur, Grant-White); the
# lavaan tutorial's invariance example uses it. One factor on six tests (x1-x6: poor fit, two constructs) and on
# the three textual tests (x4-x6: configural saturated, df 0).
hs <- HolzingerSwineford1939[, c("school", paste0("x", 1:9))]
write.csv(hs, file.path(here, "holzinger_swineford.csv"), row.names = FALSE)
hs_out <- list(lavaan_version = as.character(packageVersion("lavaan")), groups = c("Pasteur", "Grant-White"),
               models = list())
for (name in c("six", "textual")) {
  items <- if (name == "six") paste0("x", 1:6) else paste0("x", 4:6)
  model <- paste("f =~", paste(items, collapse = " + "))
  fits <- list()
  for (level in names(levels)) {
    fit <- cfa(model, data = hs, group = "school", group.label = hs_out$groups, group.equal = levels[[level]],
               estimator = "ML", likelihood = "normal", meanstructure = TRUE, control = list(rel.tol = 1e-10))
    m <- fitMeasures(fit, c("chisq", "df", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr"))
    est <- lavInspect(fit, "est")
    fits[[level]] <- c(as.list(unclass(m)), list(
      loadings = lapply(hs_out$groups, function(g) as.numeric(est[[g]]$lambda[, 1])),
      intercepts = lapply(hs_out$groups, function(g) as.numeric(est[[g]]$nu[, 1]))))
  }
  hs_out$models[[name]] <- list(items = items, fits = fits)
}
writeLines(toJSON(hs_out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "holzinger_swineford.json"))
