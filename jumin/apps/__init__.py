"""Applications on top of the stages: the CLI, DAG helpers, demo, bench, uploader and the SFTP
landing-zone administration."""
