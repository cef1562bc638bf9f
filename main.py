"""Start MoPEFT Annotator: `python main.py [--project FOLDER] [--checkpoint PATH | --model NAME] [--device DEV]`."""
import sys

from app.ui.launch import main

if __name__ == "__main__":
    sys.exit(main())
