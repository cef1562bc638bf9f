"""The installed Qt binding keeps Python's reference counts straight (PySide6 6.12.0 did not: each void call freed a
reference to None, and on Python < 3.12 the app aborted with "deallocating None" after a few thousand calls)."""
import gc
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QTreeWidgetItem


def test_void_qt_calls_do_not_free_references_to_none(qtbot):
    items = QListWidget()
    qtbot.addWidget(items)
    row = QTreeWidgetItem(["a", "b"])
    gc.collect()
    before = sys.getrefcount(None)
    for n in range(500):
        row.setText(1, str(n))
        row.setData(0, Qt.ItemDataRole.UserRole, n)
        items.addItem(QListWidgetItem("x"))
        items.clear()
    gc.collect()
    assert sys.getrefcount(None) >= before - 50, "the Qt binding leaks references to None (PySide6 6.12.0?)"
