"""The demo model's pretraining recipe: SAM trained from scratch on synthetic `shapes` scenes."""
