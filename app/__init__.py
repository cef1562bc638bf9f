"""MoPEFT Annotator: SAM-assisted annotation with in-app gated mixture-of-PEFT fine-tuning."""
__version__ = "0.1.0"
