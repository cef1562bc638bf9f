"""The project store: a folder of images plus one SQLite database in `<folder>/.mopeft/project.db`.

Open it with `Project.open(folder)`; see docs/decisions/0001-project-store.md for the schema and its rules.
"""
from app.store.errors import (
    DiskFullError,
    ImageFileError,
    LabelInUseError,
    MaskError,
    NotFoundError,
    ProjectCorruptError,
    ProjectIOError,
    ProjectLockedError,
    ProjectNotFoundError,
    ProjectNotWritableError,
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
    Proposal,
    ProposalState,
    RunStatus,
    ScanResult,
    TrainingRun,
)

__all__ = [
    "AdapterVersion", "DiskFullError", "Image", "ImageCheck", "ImageFileError", "ImageStatus", "Instance",
    "InstanceSource", "Label", "LabelInUseError", "MaskError", "MovedImage", "NotFoundError", "Project", "Proposal", "ProposalState",
    "ProjectCorruptError", "ProjectIOError", "ProjectLockedError", "ProjectNotFoundError", "ProjectNotWritableError",
    "ReadOnlyProjectError", "RunStatus", "ScanResult", "SchemaVersionError", "StoreError", "TrainingRun",
]
