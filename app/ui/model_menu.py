"""Model > Registered model: SAM 1's and SAM 2.1's registered models, each one a click away; a model whose file is
not here says how to get it rather than loading."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMenu, QWidget

from app.annotate.model_choice import registered_models

TITLE = "Registered model"


class RegisteredModelMenu(QMenu):
    """Lists the registered models by family each time it opens (a file downloaded meanwhile shows); a choice calls
    `use(name)`, or `missing(text)` with how to get the model's file."""

    def __init__(self, use: Callable[[str], None], missing: Callable[[str], None], parent: QWidget | None = None):
        super().__init__(TITLE, parent)
        self._use, self._missing = use, missing
        self.aboutToShow.connect(self.fill)

    def fill(self) -> None:
        """The entries, as the registry and the checkpoint folder are now."""
        self.clear()
        family = None
        for model in registered_models():
            if model.family != family:
                family = model.family
                self.addSection(family)
            action = self.addAction(model.name if model.missing is None else f"{model.name} (not here)")
            action.setObjectName(f"model_{model.name}")
            action.setToolTip(model.missing or f"Use {model.family} {model.name}")
            if model.missing is None:
                action.triggered.connect(lambda _checked=False, name=model.name: self._use(name))
            else:
                action.triggered.connect(lambda _checked=False, text=model.missing: self._missing(text))
