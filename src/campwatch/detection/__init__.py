"""The analysis of a pair, one module per stage: align, radiometry, change, threshold, segment, obscured,
structures, fences, classify, vectorize; analysis runs them on a pair in memory, blocks on a pair larger than memory."""
