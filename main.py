"""Start MoPEFT Annotator: `python main.py [--project FOLDER] [--checkpoint PATH | --model NAME] [--device DEV]`."""
from app.ui.launch import script

if __name__ == "__main__":
    script()
