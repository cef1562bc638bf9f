"""SAM of either family, SAM 1 (`app.sam`) or SAM 2.1 (`app.sam2`), MoPEFT-wrapped or not: one loader and the engine
for a model. Above both families and MoPEFT, so neither family's package imports the other's."""
