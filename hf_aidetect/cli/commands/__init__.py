"""One module per ``hf-aidetect`` subcommand (see :mod:`hf_aidetect.cli`)."""
