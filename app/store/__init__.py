"""The project store: a folder of images plus one SQLite database in `<folder>/.mopeft/project.db`, or a PostgreSQL
database with its images under an images root.

Open it with `Project.open(folder)` or `Project.open("postgresql://USER@HOST/DB")`; see
docs/decisions/0001-project-store.md for the schema and its rules, 0004-postgresql-store.md for the server.
"""
from app.store.errors import (
    ConcurrentChangeError,
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
    ServerAuthError,
    ServerError,
    ServerUnavailableError,
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
    "AdapterVersion", "ConcurrentChangeError", "DiskFullError", "Image", "ImageCheck", "ImageFileError", "ImageStatus", "Instance",
    "InstanceSource", "Label", "LabelInUseError", "MaskError", "MovedImage", "NotFoundError", "Project", "Proposal", "ProposalState",
    "ProjectCorruptError", "ProjectIOError", "ProjectLockedError", "ProjectNotFoundError", "ProjectNotWritableError",
    "ReadOnlyProjectError", "RunStatus", "ScanResult", "SchemaVersionError", "ServerAuthError", "ServerError",
    "ServerUnavailableError", "StoreError", "TrainingRun",
]
