"""The analysis of a pair, one module per stage: align, radiometry, change, threshold, segment, obscured,
structures, fences, classify, vectorize, with model and features (learned change) and results (the changes
found and what the analysis of a pair returns). A floor above them, analysis runs the stages on a pair in
memory, blocks on a pair larger than memory; nothing here imports from above ``campwatch.detection``."""
