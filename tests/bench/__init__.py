"""Benchmarks, run by hand or by ``make bench``; pytest collects nothing here (no test_ names)."""
