"""Watching an AOI over time: change tracking, series, monthly checks and their history, batch runs, verification."""
