"""Where the tests' committed fixture files are (tests/fixtures/, made by the scripts there)."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
"""The repository's root folder."""
FIXTURES = Path(__file__).parent / "fixtures"
TINY_SAM = FIXTURES / "tiny_sam_shapes.pth"
"""The `tiny` SAM trained a little on toy shapes (tests/fixtures/make_tiny_sam.py)."""
SAM2_OFFICIAL_KEYS = FIXTURES / "sam2" / "hiera_t_official_keys.txt"
"""Tensor names and shapes of Meta's SAM 2.1 Hiera-T checkpoint (tests/fixtures/sam2/README.md)."""
