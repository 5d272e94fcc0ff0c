"""Development tools apart from the pipeline: the sample generator, the bad-case catalogue and the
reference-doc generator."""
