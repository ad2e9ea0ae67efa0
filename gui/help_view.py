"""F1: a node's help page as formatted text (headings, tables), HAIBAL's function page form."""

from __future__ import annotations

from html import escape

from Qt import QtWidgets


def _table(head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "<p><i>none</i></p>"
    cells = "".join(f"<th align='left'>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td valign='top'>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table cellspacing='0' cellpadding='4' border='1' width='100%'><tr>{cells}</tr>{body}</table>"


def help_html(cls) -> str:
    """The help page of a node class as HTML."""
    name = escape(cls.display_name or cls.__name__)
    parts = [f"<h2>{name}</h2>", f"<p>{escape(cls.help.description)}</p>",
             f"<p><code>{escape(cls.type_id)}</code> · {escape(cls.category or 'Other')}"
             + (" · polymorphic" if len(cls.instances) > 1 else "") + "</p>"]
    inputs = [[f"<b>{escape(p.name)}</b>", f"<code>{escape(cls.port_types_text(p.name))}</code>",
               "required" if p.required else escape(repr(p.default)), escape(p.doc)] for p in cls.inputs]
    parts += ["<h3>Inputs</h3>", _table(["name", "type", "default", "what it is"], inputs)]
    params = [[f"<b>{escape(p.name)}</b>",
               escape(p.kind + (f": {', '.join(map(str, p.choices))}" if p.choices else "")),
               escape(repr(p.default)), escape(p.doc)] for p in cls.params]
    parts += ["<h3>Parameters</h3>", _table(["name", "kind", "default", "what it does"], params)]
    outputs = [[f"<b>{escape(p.name)}</b>", f"<code>{escape(str(p.type))}</code>", escape(p.doc)] for p in cls.outputs]
    parts += ["<h3>Outputs</h3>", _table(["name", "type", "what it is"], outputs)]
    if len(cls.instances) > 1:
        rows = []
        for inst in cls.instances:
            sig = ", ".join(f"{k}: {cls.input(k).type if callable(v) else v}" for k, v in inst.inputs.items())
            rows.append([f"<b>{escape(inst.name)}</b>", f"<code>{escape(sig)}</code>", escape(inst.doc)])
        parts += ["<h3>Instances</h3><p>Picked from what is wired, or pinned with the instance selector.</p>",
                  _table(["instance", "inputs", "what it does"], rows)]
    if cls.help.terminals:
        rows = [[f"<b>{escape(name)}</b>", escape(what)] for name, what in cls.help.terminals]
        parts += ["<h3>Terminals</h3>", _table(["terminal", "what it is"], rows)]
    if cls.help.use_cases:
        parts += ["<h3>Use cases</h3><ul>" + "".join(f"<li>{escape(u)}</li>" for u in cls.help.use_cases) + "</ul>"]
    return "\n".join(parts)


class HelpDialog(QtWidgets.QDialog):
    """A node's help page."""

    def __init__(self, cls, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Help — {cls.display_name or cls.__name__}")
        self.browser = QtWidgets.QTextBrowser(self)
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(help_html(cls))
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.browser)
        self.resize(720, 560)
