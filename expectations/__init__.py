"""Validation: Great Expectations suites generated from the layouts, receipts, quarantine."""
