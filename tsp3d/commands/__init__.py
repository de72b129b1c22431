"""One module per CLI command (see cli.py). Module level stays light: import heavy things inside command()."""
