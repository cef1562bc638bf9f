"""SAM 2.1 (Hiera image encoder, FPN neck, SAM 2 decoder) through transformers' Sam2Model: architectures, Meta's
checkpoints and their key conversion, the encoder in steps and the engine
(docs/decisions/0005-sam2-through-transformers.md)."""
from app.sam2.checkpoints import LoadedSam2, detect_sam2_arch, load_sam2
from app.sam2.convert import convert_official
from app.sam2.engine import Sam2Engine
from app.sam2.variants import SAM2_ARCHS, Sam2Arch, build_sam2

__all__ = ["LoadedSam2", "SAM2_ARCHS", "Sam2Arch", "Sam2Engine", "build_sam2", "convert_official",
           "detect_sam2_arch", "load_sam2"]
