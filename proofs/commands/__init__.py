"""Subcommands of the ``headflow`` command line, one module each."""
