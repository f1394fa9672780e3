# Regenerate tests/reference/synthdid_reference.json with the reference R package synthdid.
#
# Not run by the test suite (it needs R). The package's R sources are pure R; this script sources them from a
# checkout of https://github.com/synth-inference/synthdid (commit 70c1ce3, "enhancing stopping criterion in
# sc.weight.fw.covariates (#117)"), so no R package installation is needed beyond base R (tested with R 4.2.2,
# Debian r-base-core):
#
#   git clone https://github.com/synth-inference/synthdid /tmp/synthdid && git -C /tmp/synthdid checkout 70c1ce3
#   Rscript tests/reference/make_synthdid_reference.R /tmp/synthdid > tests/reference/synthdid_reference.json
#
# Data: tests/reference/california_prop99.csv is the package's data/california_prop99.csv as committed there
# (Abadie, Diamond & Hainmueller 2010, cigarette packs per capita, 39 states, 1970-2000; California treated from
# 1989). It reproduces Table 1 of Arkhangelsky et al. (2021) exactly as the package's paper-results vignette does:
# set.seed(12345) before each estimator's placebo SE with 200 replications.
#
# A second design, "three_treated", marks California, Nevada and Utah treated from 1989 (an artificial design, to
# check the jackknife and the bootstrap, which are undefined with one treated unit).

args = commandArgs(trailingOnly = TRUE)
root = if (length(args)) args[1] else '/tmp/synthdid'
for (f in c('utils.R', 'solver.R', 'synthdid.R', 'vcov.R')) source(file.path(root, 'R', f))
here = dirname(sub('--file=', '', grep('--file=', commandArgs(FALSE), value = TRUE)))
data = read.csv(file.path(here, 'california_prop99.csv'), sep = ';', stringsAsFactors = FALSE)

num = function(x) { if (length(x) == 1 && is.na(x)) 'null' else paste0('[', paste(sprintf('%.17g', x), collapse = ', '), ']') }
scalar = function(x) { if (is.na(x)) 'null' else sprintf('%.17g', x) }
record = function(est, placebo, jackknife, bootstrap, placebo.all) {
  w = attr(est, 'weights')
  sprintf(paste0('{"estimate": %s, "omega": %s, "lambda": %s, "placebo_se": %s, "jackknife_se": %s, ',
                 '"bootstrap_se": %s, "placebo_se_all": %s}'),
          scalar(c(est)), num(w$omega), num(w$lambda), scalar(placebo), scalar(jackknife), scalar(bootstrap),
          scalar(placebo.all))
}

# The placebo SE with every control once as the pseudo-treated unit (one treated unit only): the limit of the
# package's placebo_se as the replications grow, i.e. theta() of vcov.R on each of the N0 assignments.
placebo_all = function(est) {
  setup = attr(est, 'setup'); opts = attr(est, 'opts'); weights = attr(est, 'weights')
  N0 = setup$N0
  if (nrow(setup$Y) - N0 != 1) { return(NA) }
  u = sapply(1:N0, function(j) {
    ind = c(setdiff(1:N0, j), j)
    w = weights
    w$omega = sum_normalize(weights$omega[ind[1:(N0 - 1)]])
    c(do.call(synthdid_estimate, c(list(Y = setup$Y[ind, ], N0 = N0 - 1, T0 = setup$T0, X = setup$X[ind, , ],
                                        weights = w), opts)))
  })
  sqrt(mean((u - mean(u))^2))
}

design = function(panel, name, bootstrap) {
  setup = panel.matrices(panel)
  estimators = list(sdid = synthdid_estimate, sc = sc_estimate, did = did_estimate)
  parts = c()
  for (m in names(estimators)) {
    est = estimators[[m]](setup$Y, setup$N0, setup$T0)
    set.seed(12345)
    placebo = sqrt(vcov(est, method = 'placebo', replications = 200))
    jack = sqrt(vcov(est, method = 'jackknife'))
    boot = NA
    if (bootstrap) { set.seed(12345); boot = sqrt(vcov(est, method = 'bootstrap', replications = 100)) }
    parts = c(parts, sprintf('"%s": %s', m, record(est, placebo, jack, boot, placebo_all(est))))
  }
  sprintf('"%s": {"units": [%s], "periods": %s, "n0": %d, "t0": %d, %s}', name,
          paste0('"', rownames(setup$Y), '"', collapse = ', '), num(as.numeric(colnames(setup$Y))),
          setup$N0, setup$T0, paste(parts, collapse = ', '))
}

three = data
three$treated = as.integer(three$State %in% c('California', 'Nevada', 'Utah') & three$Year >= 1989)
cat('{"source": "R synthdid (synth-inference/synthdid 70c1ce3), R ', R.version$major, '.', R.version$minor,
    '", "seed": 12345, "placebo_replications": 200, "bootstrap_replications": 100, ',
    design(data, 'california', FALSE), ', ', design(three, 'three_treated', TRUE), '}\n', sep = '')
