"""The report stage: the run summary (summary, html), the pytest-side collector of results (collector) and
seed coverage (coverage)."""
