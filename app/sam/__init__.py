"""Qt-free SAM engine: architectures, checkpoints, images, embeddings and prediction."""
from app.sam.variants import ARCHS, SamArch, build_sam

__all__ = ["ARCHS", "SamArch", "build_sam"]
