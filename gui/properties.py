"""The Properties panel: every parameter of the selected node, edited through the model.

It shows the node's name (editable), its type and one-line description, the polymorphic
instance and one field per parameter (checkbox, list, or a line checked when it is
committed: Enter or leaving the field). A value the node refuses is not kept: the field
shows the graph's value again and the reason stays under the fields (and goes to the
status bar through ``refused``). A selected comment (backdrop) shows its title and text.
"""

from __future__ import annotations

from Qt import QtCore, QtWidgets

from haibal_py.errors import HaibalError
from haibal_py.node import AUTOMATIC

from .adapter import param_to_text, text_to_param
from .messages import by_name
from .search import first_sentence

INSTANCE_ROW = ":instance"  # the instance selector's key in ``fields`` (no parameter has that name)


class PropertiesPanel(QtWidgets.QWidget):
    """Edits one graph node (``show_node(gid)``) or one backdrop (``show_backdrop``)."""

    refused = QtCore.Signal(str)

    def __init__(self, model, parent=None):
        super().__init__(parent)
        self.model = model
        self.gid: str | None = None
        self.error_color = (255, 110, 100)  # the window's theme sets it
        self.backdrop: str | None = None
        self.fields: dict[str, QtWidgets.QWidget] = {}
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setPlaceholderText("node name")
        self.name_edit.editingFinished.connect(self._commit_name)
        self.kind = QtWidgets.QLabel()
        self.kind.setStyleSheet("font-weight: bold")
        self.about = QtWidgets.QLabel()
        self.about.setWordWrap(True)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("refusal")
        self.message.hide()
        self.form_host = QtWidgets.QWidget()
        self.form = QtWidgets.QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(QtCore.Qt.AlignRight)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        scroll.setWidget(self.form_host)
        self.empty = QtWidgets.QLabel("Select a node to see and edit its parameters.")
        self.empty.setWordWrap(True)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        for w in (self.empty, self.name_edit, self.kind, self.about):
            lay.addWidget(w)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.message)
        self.model.changed.connect(self._on_model_changed)
        self.show_node(None)

    # ------------------------------------------------------------------ what is shown
    def show_node(self, gid: str | None) -> None:
        self.backdrop = None
        gn = self.model.graph.find(gid) if gid is not None else None
        self.gid = gid if gn is not None and gn.node is not None else None
        self._clear_form()
        self.message.hide()
        shown = self.gid is not None
        for w in (self.name_edit, self.kind, self.about):
            w.setVisible(shown)
        self.empty.setVisible(not shown)
        if not shown:
            return
        cls = gn.cls
        self.name_edit.setText(gn.name)
        self.kind.setText(cls.display_name or cls.__name__)
        self.about.setText(first_sentence(cls.help.description) + "  (F1: full help)")
        if len(cls.instances) > 1:
            combo = QtWidgets.QComboBox()
            combo.addItems([AUTOMATIC, *cls.instance_names()])
            combo.setToolTip("polymorphic instance: 'automatic' picks it from what is wired")
            combo.activated.connect(lambda _i, c=combo: self._commit_instance(c.currentText()))
            self._add_row(INSTANCE_ROW, combo, "instance")
        for param in cls.params:
            tip = f"{param.name} ({param.kind}): {param.doc}"
            if param.kind == "bool":
                field = QtWidgets.QCheckBox()
                field.toggled.connect(lambda on, p=param: self._commit(p, on))
            elif param.kind == "enum":
                field = QtWidgets.QComboBox()
                field.addItems([str(c) for c in param.choices])
                field.activated.connect(lambda _i, p=param, f=field: self._commit(p, f.currentText()))
            else:
                field = QtWidgets.QLineEdit()
                field.setPlaceholderText("none" if param.optional else "" if param.kind == "str" else param.kind)
                field.editingFinished.connect(lambda p=param, f=field: self._commit_text(p, f))
            field.setToolTip(tip)
            self._add_row(param.name, field)
        self.refresh()

    def show_backdrop(self, bid: str, data: dict, commit) -> None:
        """A comment: its title and text (``commit(bid, title, text)`` applies an edit)."""
        self.show_node(None)
        self.backdrop = bid
        self.empty.hide()
        title = QtWidgets.QLineEdit(data.get("title", ""))
        text = QtWidgets.QPlainTextEdit(data.get("text", ""))
        text.setMaximumHeight(120)
        title.editingFinished.connect(lambda: commit(bid, title.text(), text.toPlainText()))
        text.textChanged.connect(lambda: commit(bid, title.text(), text.toPlainText()))
        self._add_row("title", title)
        self._add_row("text", text)
        self.kind.setText("Comment")
        self.kind.show()

    def _add_row(self, name: str, field: QtWidgets.QWidget, label: str | None = None) -> None:
        self.fields[name] = field
        self.form.addRow(label or name, field)

    def _clear_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}

    def field(self, name: str) -> QtWidgets.QWidget:
        """The field of parameter ``name`` ("instance": the instance selector, unless a parameter has that name)."""
        if name not in self.fields and name == "instance":
            name = INSTANCE_ROW
        return self.fields[name]

    def refresh(self) -> None:
        """Show the graph's values (after any change, refused ones included)."""
        gn = self.model.graph.find(self.gid) if self.gid is not None else None
        if gn is None or gn.node is None:
            return
        if not self.name_edit.hasFocus():
            self.name_edit.setText(gn.name)
        for name, field in self.fields.items():
            blocked = field.blockSignals(True)
            try:
                if name == INSTANCE_ROW:
                    field.setCurrentIndex(max(0, field.findText(gn.instance)))
                    continue
                param = gn.cls.param(name)
                value = param_to_text(param, gn.params.get(name))
                if isinstance(field, QtWidgets.QCheckBox):
                    field.setChecked(bool(value))
                elif isinstance(field, QtWidgets.QComboBox):
                    field.setCurrentIndex(max(0, field.findText(str(value))))
                else:
                    field.setText(str(value))
                    field.setCursorPosition(0)
                    field.setModified(False)
            finally:
                field.blockSignals(blocked)

    def _on_model_changed(self, change) -> None:
        if self.gid is None:
            return
        if change.reset or self.gid in change.removed or self.gid in change.replaced:
            self.show_node(self.gid if self.model.graph.find(self.gid) is not None else None)
        elif self.gid in change.updated:
            self.refresh()

    # ------------------------------------------------------------------ edits
    def _refuse(self, exc: Exception) -> None:
        text = by_name(str(exc), self.model.graph)
        self.message.setText(f"refused: {text}")
        self.message.setStyleSheet(f"color: rgb{self.error_color}")
        self.message.show()
        self.refresh()
        self.refused.emit(text)

    def _edit(self, fn) -> None:
        try:
            fn()
            self.message.hide()
        except HaibalError as exc:
            self._refuse(exc)

    def _commit(self, param, value) -> None:
        gid = self.gid
        self._edit(lambda: self.model.set_param(gid, param.name, text_to_param(param, value, self.model.node_name(gid))))

    def _commit_text(self, param, field: QtWidgets.QLineEdit) -> None:
        if field.isModified():
            field.setModified(False)
            self._commit(param, field.text())

    def _commit_instance(self, instance: str) -> None:
        gid = self.gid
        self._edit(lambda: self.model.set_instance(gid, instance))

    def _commit_name(self) -> None:
        if self.gid is not None and self.name_edit.isModified():
            self.name_edit.setModified(False)
            gid = self.gid
            self._edit(lambda: self.model.rename(gid, self.name_edit.text()))

    # ------------------------------------------------------------------ as a user types
    def type_into(self, name: str, text: str) -> None:
        """Replace a line field's text and commit it, as typing and Enter do (for scripts)."""
        field = self.fields[name]
        field.setText(text)
        field.setModified(True)
        field.editingFinished.emit()
