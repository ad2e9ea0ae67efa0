"""Structures in the editor: "Enclose in For Loop / While Loop / Case Structure", and the
context menu of a frame and of its terminals (LabVIEW's right-click menus): a tunnel's
indexing, removing a terminal, adding a shift register, the conditional terminal, and a
Case Structure's cases (add, duplicate, delete, make default, edit the values, show).

Each is one model edit (one undo step; a refused one changes nothing and says why in the
status bar). The frames themselves are drawn by the canvas (``gui/frames.py``).
"""

from __future__ import annotations

from Qt import QtGui, QtWidgets

from haibal_py.errors import HaibalError
from haibal_py.graph.structures import StructureError, StructureNode, case_label

KINDS = (("for", "For Loop", "Ctrl+Shift+F"), ("while", "While Loop", "Ctrl+Shift+W"),
         ("case", "Case Structure", "Ctrl+Shift+K"))


def enclose_selection(window, kind: str) -> str | None:
    """The selected nodes inside a new structure of ``kind`` ("for", "while", "case"); its id."""
    gids = window.canvas.selected_ids()
    if not gids:
        window.show_status("select the nodes to enclose first", "error")
        return None
    sid = window.try_edit(lambda: window.model.enclose(gids, kind))
    if sid is not None:
        window.canvas.select([sid])
        window.show_status(f"enclosed {len(gids)} node(s) in {window.model.node_name(sid)}")
    return sid


def parse_case_values(text: str) -> tuple[tuple, bool]:
    """``'1, 2, Default'`` -> ((1, 2), True); ``'"relu", "tanh"'`` -> strings; ``True``/``False``
    booleans (LabVIEW's case label syntax, without ranges)."""
    values, default = [], False
    for raw in [t.strip() for t in str(text).split(",") if t.strip()]:
        if raw.lower() == "default":
            default = True
        elif raw in ("True", "False", "true", "false"):
            values.append(raw.lower() == "true")
        elif len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            values.append(raw[1:-1])
        else:
            try:
                values.append(int(raw))
            except ValueError:
                raise StructureError(f"a case value is True, False, an integer or a \"quoted\" string, got {raw!r}") \
                    from None
    return tuple(values), default


def _structure_here(window, pos) -> str | None:
    """The structure under (or around) a scene point: its frame or terminal there, else the
    innermost frame holding the point."""
    canvas = window.canvas
    terminal = canvas.terminal_under(pos)
    if terminal is not None:
        return terminal[0]
    sid = canvas.frame_under(pos)
    if sid is not None:
        return sid
    where = canvas.frame_at(*pos)
    return where[0] if where else None


def _edit_structure(window, sid: str, label: str, fn) -> None:
    window.try_edit(lambda: window.model.structure_edit(sid, label, fn))


def add_context_items(window, menu: QtWidgets.QMenu, pos) -> None:
    """What a right click on a frame, a terminal or inside a frame offers."""
    if pos is None:
        return
    sid = _structure_here(window, pos)
    if sid is None:
        return
    graph = window.model.graph
    gn = graph.find(sid)
    if gn is None or not isinstance(gn.node, StructureNode):
        return
    node = gn.node
    menu.addSeparator()
    title = menu.addAction(f"{gn.name} ({node.display_name})")
    title.setEnabled(False)
    terminal = window.canvas.terminal_under(pos)
    if terminal is not None and terminal[1] in ("tunnel_in", "tunnel_out"):
        name = terminal[2]
        t = node.terminal(name)
        if node.loop and not (t.direction == "in" and node.type_id.endswith("WhileLoop")):
            act = menu.addAction(f"Indexing ({name})")
            act.setCheckable(True)
            act.setChecked(t.indexing)
            act.triggered.connect(lambda on, n=name: _edit_structure(
                window, sid, "indexing", lambda st: st.set_indexing(n, on)))
        menu.addAction(f"Remove Tunnel {name!r}").triggered.connect(lambda *_, n=name: _edit_structure(
            window, sid, "remove tunnel", lambda st: st.remove_terminal(n)))
    elif terminal is not None and terminal[1] in ("shift_left", "shift_right"):
        name = terminal[2]
        menu.addAction(f"Remove Shift Register {name!r}").triggered.connect(lambda *_, n=name: _edit_structure(
            window, sid, "remove shift register", lambda st: st.remove_terminal(n)))
    if node.loop:
        menu.addAction("Add Shift Register").triggered.connect(lambda *_: _edit_structure(
            window, sid, "add shift register", lambda st: st.add_shift_register()))
        cond = menu.addMenu("Conditional Terminal")
        choices = [("Stop if True", "stop"), ("Continue if True", "continue")]
        if not node.type_id.endswith("WhileLoop"):
            choices.append(("None", None))
        have = node.condition_terminal(node.body.graph)
        for text, value in choices:
            act = cond.addAction(text)
            act.setCheckable(True)
            act.setChecked(have == value)
            act.triggered.connect(lambda *_, v=value: _edit_structure(
                window, sid, "conditional terminal", lambda st: st.set_condition(v)))
    else:
        shown = window.canvas.visible(sid)
        show = menu.addMenu("Show Case")
        for k, d in enumerate(node.diagrams):
            act = show.addAction(d.label)
            act.setCheckable(True)
            act.setChecked(k == shown)
            act.triggered.connect(lambda *_, k=k: window.canvas.show_case(sid, k))
        menu.addAction("Add Case After").triggered.connect(lambda *_: add_case(window, sid, copy=False))
        menu.addAction("Duplicate Case").triggered.connect(lambda *_: add_case(window, sid, copy=True))
        menu.addAction("Delete This Case").triggered.connect(lambda *_: delete_case(window, sid))
        act = menu.addAction("Default Case")
        act.setCheckable(True)
        act.setChecked(node.diagrams[shown].default)
        act.triggered.connect(lambda on: _edit_structure(window, sid, "default case",
                                                          lambda st: st.set_case(shown, default=on)))
        menu.addAction("Case Values…").triggered.connect(lambda *_: edit_case_values(window, sid))


def add_case(window, sid: str, copy: bool) -> None:
    """A new case after the one shown (a copy of it with ``copy``), shown; its values: the
    next free integer, or none for strings (then edit them)."""
    node = window.model.graph.find(sid).node
    shown = window.canvas.visible(sid)
    used = [v for d in node.diagrams for v in d.values]
    values: tuple = ()
    if node.selector_kind() in (None, "int"):
        ints = [v for v in used if isinstance(v, int) and not isinstance(v, bool)]
        values = (max(ints) + 1 if ints else 0,)
    elif node.selector_kind() == "bool" and len(used) < 2:
        values = (not used[0],) if used else (True,)

    def edit(st):
        return st.add_case(values, copy_of=shown if copy else None)
    index = window.try_edit(lambda: window.model.structure_edit(sid, "duplicate case" if copy else "add case", edit))
    if index is not None:
        window.canvas.show_case(sid, index)


def delete_case(window, sid: str) -> None:
    shown = window.canvas.visible(sid)
    window.try_edit(lambda: window.model.structure_edit(sid, "delete case", lambda st: st.remove_case(shown)))
    window.canvas.show_case(sid, max(0, shown - 1))


def edit_case_values(window, sid: str, text: str | None = None) -> bool:
    """Set the values of the case shown (``text`` as typed in LabVIEW's label: ``1, 2``,
    ``"relu"``, ``True``, ``Default``); asks for it when not given."""
    node = window.model.graph.find(sid).node
    shown = window.canvas.visible(sid)
    d = node.diagrams[shown]
    if text is None:
        current = case_label(d.values, d.default)
        text, ok = QtWidgets.QInputDialog.getText(window, "Case values", "Values of this case (comma separated; "
                                                  "True/False, integers, \"strings\", Default):", text=current)
        if not ok:
            return False
    try:
        values, default = parse_case_values(text)
    except HaibalError as exc:
        window.show_status(str(exc), "error")
        return False
    return window.try_edit(lambda: window.model.structure_edit(
        sid, "case values", lambda st: st.set_case(shown, values, default)) or True) is not None


def delete_terminals(window, keys) -> None:
    """Remove the tunnels and shift registers among ``keys`` (the fixed terminals stay)."""
    removable = [(sid, name) for sid, role, name in keys if role in ("tunnel_in", "tunnel_out", "shift_left",
                                                                    "shift_right")]
    if not removable:
        return

    def edit():
        with window.model.edit("remove terminal"):
            for sid, name in dict.fromkeys(removable):
                st = window.model.graph.structure(sid)
                if st.node.has_terminal(name):
                    st.remove_terminal(name)
    window.try_edit(edit)


def install(window) -> None:
    """The Enclose actions (Edit menu and context menu), the frames' context menu items,
    and Delete for terminals."""
    if getattr(window, "act_enclose", None):
        return
    window.act_enclose = {}
    for kind, title, keys in KINDS:
        act = QtGui.QAction(f"Enclose in {title}", window)
        act.setShortcut(QtGui.QKeySequence(keys))
        act.setStatusTip(f"put the selected nodes inside a new {title} (wires crossing its border become tunnels)")
        act.triggered.connect(lambda *_, k=kind: enclose_selection(window, k))
        window.add_action("edit", act, context=True)
        window.act_enclose[kind] = act
    window.context_hooks.append(lambda menu, pos: add_context_items(window, menu, pos))
    window.delete_hooks.append(lambda: delete_terminals(window, window.canvas.selected_terminals()))
