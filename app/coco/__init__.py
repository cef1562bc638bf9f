"""COCO instance files and PNG masks: export from a project, import into one, and a writer for any dataset.

Qt-free, so exports run headless from `mopeft export` as well as from the GUI. See docs/coco.md.
"""
