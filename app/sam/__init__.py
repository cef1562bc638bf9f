"""Qt-free SAM engine: architectures, checkpoints, downloads, images, embeddings and prediction."""
from app.sam.checkpoints import CHECKPOINTS, CheckpointError, CheckpointInfo, LoadedSam, checkpoint_dir, detect_arch, load_sam
from app.sam.download import ChecksumMismatch, DownloadCancelled, DownloadError, download
from app.sam.errors import SamError
from app.sam.images import MAX_IMAGE_PIXELS, ImageData, ImageLoadError, image_from_array, load_image
from app.sam.variants import ARCHS, SamArch, build_sam

__all__ = [
    "ARCHS", "CHECKPOINTS", "CheckpointError", "CheckpointInfo", "ChecksumMismatch", "DownloadCancelled",
    "DownloadError", "ImageData", "ImageLoadError", "LoadedSam", "MAX_IMAGE_PIXELS", "SamArch", "SamError",
    "build_sam", "checkpoint_dir", "detect_arch", "download", "image_from_array", "load_image", "load_sam",
]
