# The data of CausalImpact's documented example (Brodersen et al. 2015; the package vignette,
# https://google.github.io/CausalImpact/CausalImpact.html, "Creating an example dataset"), regenerated with base R only:
#   Rscript tests/reference/sts/make_causalimpact_example.R
# Writes causalimpact_example.csv (t, y, x1). The test suite reads the CSV and never needs R.
set.seed(1)
x1 <- 100 + arima.sim(model = list(ar = 0.999), n = 100)
y <- 1.2 * x1 + rnorm(100)
y[71:100] <- y[71:100] + 10
out <- data.frame(t = 1:100, y = sprintf("%.10f", y), x1 = sprintf("%.10f", x1))
write.csv(out, "causalimpact_example.csv", row.names = FALSE, quote = FALSE)
cat(R.version.string, "\n")
