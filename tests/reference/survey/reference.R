# Reference values for oca_experiments' survey inference, from R (Debian: r-base-core, r-cran-clubsandwich,
# r-cran-estimatr, r-cran-sandwich). The test suite reads reference.json and never needs R.
#
#   .venv/bin/python tests/reference/survey/make_data.py   # the CSVs (committed)
#   Rscript tests/reference/survey/reference.R              # -> tests/reference/survey/reference.json
#
# What is computed, and how independently of the Python code:
# - CR2 standard errors and Satterthwaite degrees of freedom: clubSandwich::coef_test(vcov = "CR2",
#   test = "Satterthwaite") on lm() with every fixed effect as a dummy (the full design, not the within transform),
#   and estimatr::lm_robust(se_type = "CR2") as a second implementation (Bell-McCaffrey df);
# - HC3 and HC1: sandwich::vcovHC;
# - the wild cluster restricted bootstrap by brute force: every draw re-fits the restricted model's bootstrap sample
#   with lm.fit() and computes the CR1 standard error from scratch, with the weight matrix the CSV holds;
# - Anderson's (2008) ICW index from its GLS formula s_i = (1' S^-1 1)^-1 1' S^-1 z_i on the answered items, and the
#   Kling-Liebman-Katz index, written from the papers' definitions.

suppressPackageStartupMessages({
  library(clubSandwich)
  library(estimatr)
  library(sandwich)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/survey"
read <- function(name) read.csv(file.path(here, name), stringsAsFactors = FALSE)

webb <- c(-sqrt(1.5), -1, -sqrt(0.5), sqrt(0.5), 1, sqrt(1.5))

cr2 <- function(fit, cluster, term) {
  test <- coef_test(fit, vcov = "CR2", cluster = cluster, test = "Satterthwaite", coefs = term)
  list(estimate = unname(coef(fit)[term]), se = test$SE, df = test$df_Satt, p = test$p_Satt)
}

cr1_se <- function(X, y, cluster, j) {
  # CR1 with the Stata/fixest small-sample factor G/(G-1) * (n-1)/(n-k), k = columns of X
  fit <- lm.fit(X, y)
  bread <- solve(crossprod(X))
  scores <- rowsum(X * fit$residuals, cluster)
  n <- nrow(X); k <- ncol(X); G <- nrow(scores)
  V <- G / (G - 1) * (n - 1) / (n - k) * bread %*% crossprod(scores) %*% bread
  list(beta = fit$coefficients[j], se = sqrt(V[j, j]))
}

wild_bruteforce <- function(X, y, cluster, j, codes) {
  # WCR: impose beta_j = 0, multiply the restricted residuals by one weight per cluster, re-fit, studentize (CR1)
  restricted <- lm.fit(X[, -j, drop = FALSE], y)
  fitted_r <- y - restricted$residuals
  groups <- as.integer(factor(cluster))  # sorted labels, as the Python code
  observed <- cr1_se(X, y, cluster, j)
  t_obs <- unname(observed$beta / observed$se)
  t_star <- numeric(nrow(codes))
  for (b in seq_len(nrow(codes))) {
    v <- webb[unlist(codes[b, ]) + 1][groups]
    y_star <- fitted_r + restricted$residuals * v
    boot <- cr1_se(X, y_star, cluster, j)
    t_star[b] <- unname(boot$beta / boot$se)
  }
  list(t = t_obs, t_star = t_star, p = mean(abs(t_star) >= abs(t_obs) * (1 - 1e-10)))
}

out <- list(versions = list(R = R.version.string, clubSandwich = as.character(packageVersion("clubSandwich")),
                            estimatr = as.character(packageVersion("estimatr")),
                            sandwich = as.character(packageVersion("sandwich"))))

# --- panel DiD: y ~ D + post + respondent dummies, clustered by village ------------------------------------------
panel <- read("panel.csv")
both <- ave(panel$round == "post", panel$pid, FUN = function(x) length(x) == 2)
panel <- panel[as.logical(both), ]
panel$post <- as.numeric(panel$round == "post")
panel$D <- panel$arm * panel$post
fit <- lm(y ~ D + post + factor(pid), data = panel)
out$panel_did <- list(cr2 = cr2(fit, panel$village, "D"), n = nrow(panel))
fit_cov <- lm(y ~ D + post + I(age * post) + factor(pid), data = panel)
out$panel_did_covariate <- list(cr2 = cr2(fit_cov, panel$village, "D"))
hc <- vcovHC(fit, type = "HC3")
out$panel_did$hc3_se <- sqrt(hc["D", "D"])

# --- ANCOVA-shaped cross-section, 8 unequal clusters ---------------------------------------------------------------
for (name in c("cross_section", "few_clusters")) {
  data <- read(paste0(name, ".csv"))
  fit <- lm(y1 ~ treat + y0 + x, data = data)
  robust <- lm_robust(y1 ~ treat + y0 + x, data = data, clusters = g, se_type = "CR2")
  stata <- lm_robust(y1 ~ treat + y0 + x, data = data, clusters = g, se_type = "stata")
  out[[name]] <- list(
    cr2 = cr2(fit, data$g, "treat"),
    estimatr_cr2 = list(se = unname(robust$std.error["treat"]), df = unname(robust$df["treat"]),
                        p = unname(robust$p.value["treat"])),
    estimatr_cr1 = list(se = unname(stata$std.error["treat"]), df = unname(stata$df["treat"])),
    hc3_se = unname(sqrt(vcovHC(fit, type = "HC3")["treat", "treat"])),
    hc1_se = unname(sqrt(vcovHC(fit, type = "HC1")["treat", "treat"])),
    estimate = unname(coef(fit)["treat"]))
}

# --- wild cluster bootstrap by brute force, with the committed weights -------------------------------------------
X_panel <- model.matrix(~ D + post + factor(pid), data = panel)
out$wild_panel <- wild_bruteforce(X_panel, panel$y, panel$village, which(colnames(X_panel) == "D"),
                                  read("weights_panel.csv"))
few <- read("few_clusters.csv")
X_few <- model.matrix(~ treat + y0 + x, data = few)
out$wild_few <- wild_bruteforce(X_few, few$y1, few$g, which(colnames(X_few) == "treat"), read("weights_few.csv"))

# --- indices -------------------------------------------------------------------------------------------------------
items <- read("index_items.csv")
Z <- as.matrix(items[, c("q1", "q2", "q3", "q4")])
Z[, 3] <- 6 - Z[, 3]  # reverse-code the negatively worded item
reference <- items$arm == 0 & items$wave == "baseline"
mu <- colMeans(Z[reference, ], na.rm = TRUE)
sigma <- apply(Z[reference, ], 2, sd, na.rm = TRUE)
Z <- sweep(sweep(Z, 2, mu), 2, sigma, "/")
answered <- rowSums(!is.na(Z))
keep <- answered >= 3
restandardize <- function(raw) {
  (raw - mean(raw[reference & keep])) / sd(raw[reference & keep])
}
klk_raw <- ifelse(keep, rowMeans(Z, na.rm = TRUE), NA)
complete_ref <- Z[reference & rowSums(is.na(Z)) == 0, ]
S_inv <- solve(cov(complete_ref))
icw_raw <- rep(NA_real_, nrow(Z))
for (i in which(keep)) {
  a <- !is.na(Z[i, ])
  w <- rowSums(S_inv)[a]  # Anderson: weights of the answered items (row sums of the full inverse)
  icw_raw[i] <- sum(w * Z[i, a]) / sum(w)
}
# GLS form for complete rows: (1' S^-1 1)^-1 1' S^-1 z_i -- the same numbers, computed another way
gls <- apply(Z[rowSums(is.na(Z)) == 0, ], 1, function(z) sum(S_inv %*% z) / sum(S_inv))
out$index <- list(klk = restandardize(klk_raw), icw = restandardize(icw_raw),
                  icw_gls_complete_rows = unname(gls), icw_weights = unname(rowSums(S_inv) / sum(S_inv)))

write(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), file.path(here, "reference.json"))
cat("wrote", file.path(here, "reference.json"), "\n")
