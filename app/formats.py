"""Image file types the project reads (shared by the image loader and the project store)."""

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def is_image_file(name: str) -> bool:
    """True when the file name has one of the supported image suffixes (case-insensitive)."""
    return name.lower().endswith(IMAGE_SUFFIXES)
