"""Load: write staged datasets to the lake atomically, partitioned by 基準日 and municipality."""
