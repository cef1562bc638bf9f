"""Qt widgets and thin QThread workers over the Qt-free core. Only entry points import from here: main.py, the
`mopeft-annotator` script and `mopeft bench ui-stall`, which drives the real window."""
