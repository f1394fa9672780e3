# Reference numbers for survey weights (issue 20): R survey's raking calibration and linearized variances.
#
#   Rscript tests/reference/survey_weights/survey_weights.R   # reads example.csv + margins.json, writes reference.json
#
# Debian r-cran-survey (4.x), r-cran-jsonlite. Each case builds the estimation sample oca uses, declares
# svydesign(ids = ~community_id, weights = ~base_weight), rakes each wave of it to the population margins with
# calibrate(calfun = "raking") on wave x category indicators (shares scaled to the wave's total design weight), and
# fits svyglm / svyratio / svymean. The variance is svyrecvar's: the calibration residual adjustment, then one-stage
# with-replacement cluster totals, within district strata (district is constant within communities).
suppressPackageStartupMessages({library(survey); library(jsonlite)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d0 <- read.csv(file.path(here, "example.csv"), stringsAsFactors = FALSE)
margins <- fromJSON(file.path(here, "margins.json"))

calibration_terms <- function(d, wave, margins, base = "base_weight") {
  cols <- character(); pop <- numeric()
  for (w in unique(d[[wave]])) {
    iw <- as.numeric(d[[wave]] == w)
    nm <- paste0("cw_", make.names(w)); d[[nm]] <- iw; cols <- c(cols, nm)
    total <- sum(d[[base]][iw == 1]); pop[nm] <- total
    for (m in names(margins)) {
      cats <- names(margins[[m]])
      for (k in cats[-1]) {
        nm2 <- paste0(nm, "_", m, "_", make.names(k))
        d[[nm2]] <- iw * as.numeric(d[[m]] == k); cols <- c(cols, nm2); pop[nm2] <- total * margins[[m]][[k]]
      }
    }
  }
  list(data = d, formula = as.formula(paste("~ 0 +", paste(cols, collapse = " + "))), population = pop)
}

# district is constant within communities: raking to it post-stratifies whole clusters, so (as oca does) the
# design declares it as strata: variance centred within each district with n_h / (n_h - 1), degf = G - H.
raked <- function(d, wave, margins, base = "base_weight") {
  terms <- calibration_terms(d, wave, margins, base)
  strata <- if ("district" %in% names(margins)) ~district else NULL
  des <- svydesign(ids = ~community_id, strata = strata, weights = as.formula(paste0("~", base)), data = terms$data)
  calibrate(des, terms$formula, population = terms$population, calfun = "raking", epsilon = 1e-13, maxit = 2000)
}

coef_case <- function(fit, name, des) {
  list(estimate = unname(coef(fit)[name]), std_error = unname(sqrt(diag(vcov(fit)))[name]),
       n = nrow(des), clusters = length(unique(des$cluster[, 1])), degf = degf(des),
       kish_effective_n = sum(weights(des))^2 / sum(weights(des)^2))
}

out <- list(r_version = R.version.string, survey_version = as.character(packageVersion("survey")))
d0$post <- as.numeric(d0$wave == "endline")
d0$D <- d0$treated * d0$post

# 1. panel DiD: units answering y at both waves, respondent fixed effects (dummies), wave dummy
answered <- d0[!is.na(d0$y), ]
both <- names(which(table(answered$respondent_id) == 2))
panel <- answered[answered$respondent_id %in% both, ]
panel <- panel[order(panel$wave, panel$respondent_id), ]
des <- raked(panel, "wave", margins)
fit <- svyglm(y ~ factor(respondent_id) + post + D, design = des)
out$did_panel <- coef_case(fit, "D", des)
# the same without design weights (raking from 1)
panel$one <- 1
des1 <- raked(panel, "wave", margins, base = "one")
out$did_panel_no_design_weights <- coef_case(svyglm(y ~ factor(respondent_id) + post + D, design = des1), "D", des1)

# 2. repeated cross-sections: every answered row, each wave raked
cs <- answered[order(answered$wave, answered$respondent_id), ]
des <- raked(cs, "wave", margins)
fit <- svyglm(y ~ treated + post + D, design = des)
out$did_cross_section <- coef_case(fit, "D", des)
out$did_cross_section$weights <- unname(weights(des))
out$did_cross_section$respondent_id <- cs$respondent_id
out$did_cross_section$wave <- cs$wave
# post-stratification to one margin (district)
des <- raked(cs, "wave", margins["district"])
out$did_cross_section_poststratified <- coef_case(svyglm(y ~ treated + post + D, design = des), "D", des)

# 3. ANCOVA: one row per unit (baseline margins and design weight), endline on baseline and treatment
pre <- panel[panel$wave == "baseline", ]
postw <- panel[panel$wave == "endline", c("respondent_id", "y")]
names(postw)[2] <- "y_post"
units <- merge(pre, postw, by = "respondent_id")
units <- units[order(units$respondent_id), ]
units$y_pre <- units$y
des <- raked(units, "wave", margins)
out$ancova <- coef_case(svyglm(y_post ~ treated + y_pre, design = des), "treated", des)
out$change_score <- coef_case(svyglm(I(y_post - y_pre) ~ treated, design = des), "treated", des)

# 4. knowledge gain, paired: ratio of weighted mean scores over units at both waves
sb <- names(which(table(d0$respondent_id) == 2))
kp <- d0[d0$respondent_id %in% sb & d0$wave == "baseline", ]
ke <- d0[d0$respondent_id %in% sb & d0$wave == "endline", c("respondent_id", "score")]
names(ke)[2] <- "score_post"
ku <- merge(kp, ke, by = "respondent_id")
ku <- ku[order(ku$respondent_id), ]
des <- raked(ku, "wave", margins)
r <- svyratio(~score_post, ~score, des)
out$gain_paired <- list(estimate = as.numeric(coef(r)) - 1, std_error = as.numeric(sqrt(vcov(r))), n = nrow(ku))

# 5. knowledge gain, unpaired: wave means as svyglm coefficients, delta method for their ratio
kk <- d0[order(d0$wave, d0$respondent_id), ]
kk$is_post <- as.numeric(kk$wave == "endline"); kk$is_pre <- 1 - kk$is_post
des <- raked(kk, "wave", margins)
fit <- svyglm(score ~ 0 + is_post + is_pre, design = des)
con <- svycontrast(fit, quote(is_post / is_pre - 1))
out$gain_unpaired <- list(estimate = as.numeric(coef(con)), std_error = as.numeric(sqrt(vcov(con))), n = nrow(kk))

# 6. share at endline
en <- d0[d0$wave == "endline", ]
en <- en[order(en$respondent_id), ]
des <- raked(en, "wave", margins)
m <- svymean(~y01, des)
out$share <- list(estimate = as.numeric(coef(m)), std_error = as.numeric(SE(m)), n = nrow(en))

write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "reference.json"))
