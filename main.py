"""Start MoPEFT Annotator: `python main.py`."""
import sys

from app.ui.launch import main

if __name__ == "__main__":
    sys.exit(main())
