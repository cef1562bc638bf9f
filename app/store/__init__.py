"""The project store: a folder of images plus one SQLite database in `<folder>/.mopeft/project.db`.

Open it with `Project.open(folder)`; see docs/decisions/0001-project-store.md for the schema and its rules.
"""
from app.store.errors import (
    ImageFileError,
    LabelInUseError,
    MaskError,
    NotFoundError,
    ProjectCorruptError,
    ProjectLockedError,
    ProjectNotFoundError,
    ReadOnlyProjectError,
    SchemaVersionError,
    StoreError,
)
from app.store.project import Project
from app.store.records import (
    AdapterVersion,
    Image,
    ImageCheck,
    ImageStatus,
    Instance,
    InstanceSource,
    Label,
    MovedImage,
    RunStatus,
    ScanResult,
    TrainingRun,
)

__all__ = [
    "AdapterVersion", "Image", "ImageCheck", "ImageFileError", "ImageStatus", "Instance", "InstanceSource",
    "Label", "LabelInUseError", "MaskError", "MovedImage", "NotFoundError", "Project", "ProjectCorruptError",
    "ProjectLockedError", "ProjectNotFoundError", "ReadOnlyProjectError", "RunStatus", "ScanResult",
    "SchemaVersionError", "StoreError", "TrainingRun",
]
