"""Displays build only the widgets their values need, and long rows draw downsampled.

A pyqtgraph ImageView takes about 30 ms to build; a panel with one display per viewer
node built one (and a plot and a table) for every node when a graph was opened.
"""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402

from haibal_py.gui.displays import ValueView  # noqa: E402


def test_a_display_builds_only_the_forms_it_shows(qtbot):
    view = ValueView("auto")
    qtbot.addWidget(view)
    assert view.findChildren(pg.PlotWidget) == [] and view.findChildren(pg.ImageView) == []

    view.show_value(3.5)
    assert view.shown_as() == "value"
    assert view.findChildren(pg.PlotWidget) == [] and view.findChildren(pg.TableWidget) == []

    view.show_value(np.arange(8.0))
    assert view.shown_as() == "plot"
    (plot,) = view.findChildren(pg.PlotWidget)
    assert view.findChildren(pg.ImageView) == []

    view.show_value(np.ones((6, 8)))
    assert view.shown_as() == "image" and len(view.findChildren(pg.ImageView)) == 1
    view.show_value(np.arange(8.0))  # back to the plot already built
    assert view.shown_as() == "plot" and view.plot is plot


def test_a_long_row_keeps_its_data_and_is_drawn_downsampled(qtbot):
    view = ValueView("plot")
    qtbot.addWidget(view)
    row = np.sin(np.linspace(0, 50, 100_000))
    view.show_value(row)
    (curve,) = view.plot.getPlotItem().listDataItems()
    np.testing.assert_array_equal(curve.yData, row)  # the value itself is not reduced
    assert curve.opts["autoDownsample"] and curve.opts["clipToView"]
