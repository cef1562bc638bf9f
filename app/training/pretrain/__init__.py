"""The demo model's pretraining: SAM trained from scratch on synthetic `shapes` scenes with the shared recipe."""
