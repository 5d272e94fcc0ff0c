"""Transform: pure SQL builders and the DuckDB runner (snapshots now; deltas and 名寄せ later)."""
