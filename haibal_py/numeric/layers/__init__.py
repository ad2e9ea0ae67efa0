"""Layers: Keras 3's layer classes with forward and backward passes in NumPy (see ``base``)."""
