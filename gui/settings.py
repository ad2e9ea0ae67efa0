"""What the editor remembers between sessions: recent files and the theme (a small JSON file).

Kept beside the recovery file (``$XDG_STATE_HOME/haibal-py/editor.json`` by default), so a
test or a second user profile that moves one moves both.
"""

from __future__ import annotations

import json
from pathlib import Path

from haibal_py.files.atomic import write_bytes_atomic

RECENT_LIMIT = 10
NOTICED_LIMIT = 200


class EditorSettings:
    """``recent`` (newest first), ``theme`` and ``noticed`` (graph file -> digest of the file
    notice its user has seen); saved on every change, never raises on a bad file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.recent: list[str] = []
        self.theme = "dark"
        self.noticed: dict[str, str] = {}
        try:
            data = json.loads(self.path.read_text("utf-8"))
            self.recent = [str(p) for p in data.get("recent", []) if isinstance(p, str)][:RECENT_LIMIT]
            self.theme = data.get("theme", "dark") if data.get("theme") in ("dark", "light") else "dark"
            noticed = data.get("noticed", {})
            self.noticed = {k: v for k, v in noticed.items() if isinstance(k, str) and isinstance(v, str)} \
                if isinstance(noticed, dict) else {}
        except (OSError, ValueError, AttributeError):
            pass  # no file yet, or one we cannot read: start afresh

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = {"recent": self.recent, "theme": self.theme, "noticed": self.noticed}
            write_bytes_atomic(self.path, json.dumps(data, indent=1).encode())
        except OSError:
            pass  # remembering is a convenience: a read-only home must not stop the editor

    def add_recent(self, path) -> None:
        text = str(Path(path).resolve())
        self.recent = [text] + [p for p in self.recent if p != text][: RECENT_LIMIT - 1]
        self.save()

    def note_seen(self, path, digest: str) -> None:
        """Remember that the notice ``digest`` of the graph file ``path`` was shown."""
        self.noticed.pop(str(path), None)
        self.noticed[str(path)] = digest
        while len(self.noticed) > NOTICED_LIMIT:  # the oldest first
            self.noticed.pop(next(iter(self.noticed)))
        self.save()

    def existing_recent(self) -> list[str]:
        return [p for p in self.recent if Path(p).is_file()]
