"""Large images, Qt-free: overlapping tiles at full resolution, prompts answered on the tile where they lie most
centrally, masks kept as full-resolution RLE, automatic proposals per tile merged across tile borders (issue 23)."""
from app.tiles.grid import Tile, TileGrid, needs_tiles
from app.tiles.rle import crop_to_rle, rle_crop

__all__ = ["Tile", "TileGrid", "crop_to_rle", "needs_tiles", "rle_crop"]
