"""A theme applied to one window: its palette (panels, lists, fields) and the canvas colours.

The window's own palette, not the application's: a window changes nothing outside itself.
"""

from __future__ import annotations

from Qt import QtGui, QtWidgets

from .style import Theme


def palette(theme: Theme) -> QtGui.QPalette:
    P, C = QtGui.QPalette, QtGui.QColor
    pal = QtGui.QPalette()
    roles = {
        P.Window: theme.window, P.WindowText: theme.text, P.Base: theme.base, P.AlternateBase: theme.window,
        P.Text: theme.text, P.Button: theme.window, P.ButtonText: theme.text, P.ToolTipBase: theme.base,
        P.ToolTipText: theme.text, P.Highlight: theme.highlight, P.HighlightedText: (255, 255, 255),
        P.PlaceholderText: theme.mid, P.Link: theme.highlight, P.BrightText: theme.error,
    }
    for role, rgb in roles.items():
        pal.setColor(P.All, role, C(*rgb))
    for role in (P.WindowText, P.Text, P.ButtonText):
        pal.setColor(P.Disabled, role, C(*theme.mid))
    light = tuple(min(255, c + 25) for c in theme.window)
    dark = tuple(max(0, c - 25) for c in theme.window)
    pal.setColor(P.All, P.Light, C(*light))
    pal.setColor(P.All, P.Midlight, C(*light))
    pal.setColor(P.All, P.Mid, C(*theme.mid))
    pal.setColor(P.All, P.Dark, C(*dark))
    pal.setColor(P.All, P.Shadow, C(*dark))
    return pal


def apply(window: QtWidgets.QMainWindow, theme: Theme) -> None:
    """The window's palette (no window-wide style sheet: one would stop the palette reaching
    its panels; the few coloured labels colour themselves)."""
    window.setPalette(palette(theme))
