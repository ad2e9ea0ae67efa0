"""The NodeGraphQt editor: the only part of haibal-py that imports Qt."""
