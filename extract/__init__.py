"""Extract: pick up complete upload sets, verify them, keep a raw copy, decode and parse."""
