"""Qt-free fine-tuning of a MoPEFT-wrapped SAM on a project's accepted instances (GUI and `mopeft train`)."""
