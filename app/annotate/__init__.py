"""The Qt-free annotation core: the session model the annotator window (app.ui) shows and drives.

`AnnotationSession` holds the current image, the draft (prompts, SAM's candidates, brush strokes) of
each image, the undo history and the current label, and commits instance operations to the project
store. Views subscribe to its events; tests drive it directly.
"""
from app.annotate.demo_project import prepare_demo_project
from app.annotate.draft import Draft, PromptRequest, Prompts, Stroke
from app.annotate.events import Event
from app.annotate.history import History
from app.annotate.labels import LabelChoice
from app.annotate.session import DEFAULT_LABEL, AnnotationSession

__all__ = ["AnnotationSession", "DEFAULT_LABEL", "Draft", "Event", "History", "LabelChoice", "PromptRequest",
           "Prompts", "Stroke", "prepare_demo_project"]
