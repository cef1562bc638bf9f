"""Entry point of the bundled `mopeft` command line (PyInstaller needs a script)."""
from app.cli.main import script

if __name__ == "__main__":
    script()
