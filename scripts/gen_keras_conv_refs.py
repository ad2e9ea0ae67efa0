"""Keras reference values for the convolution-family cases ``gen_keras_layer_refs.py`` does not
hold: the 1-D and 3-D variants (transposed, depthwise, separable, padding, cropping, upsampling,
global pooling, spatial dropout) and max poolings whose windows hold tied maxima.

Run with the reference environment (TensorFlow + Keras 3), never from the tests:

    /work/venv-ref/bin/python scripts/gen_keras_conv_refs.py [--check]

It runs ``gen_keras_layer_refs``'s machinery (same seeding, float64 cross-check, file format:
``tests/reference/keras_layers/README.md``) on the ``CASES`` below and writes
``tests/reference/keras_conv/`` (one ``<case>.npz`` per case and ``cases.json``). The tie
cases draw their inputs as that script does, then keep ``round(max(x, 0) * 2) / 2``: values in
{0, 0.5, 1}, so most windows hold several equal maxima (as after a ReLU), and show which of
them TensorFlow's gradient reaches.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("gen_keras_layer_refs", HERE / "gen_keras_layer_refs.py")
gen = importlib.util.module_from_spec(_spec)
sys.modules["gen_keras_layer_refs"] = gen
_spec.loader.exec_module(gen)

OUT = gen.ROOT / "tests" / "reference" / "keras_conv"
case = gen.case

CASES = [
    case("conv1d_transpose_same_strides2", "Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2,
                                                                   padding="same"), [(2, 4, 2)]),
    case("conv1d_transpose_output_padding", "Conv1DTranspose", dict(filters=2, kernel_size=3, strides=3,
                                                                    output_padding=1), [(2, 3, 2)]),
    case("conv3d_transpose_same_strides2", "Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2,
                                                                   padding="same"), [(1, 2, 3, 2, 2)]),
    case("conv3d_transpose_valid", "Conv3DTranspose", dict(filters=2, kernel_size=3, strides=(1, 2, 1)),
         [(1, 2, 2, 3, 2)]),
    case("conv3d_dilation_same", "Conv3D", dict(filters=2, kernel_size=2, dilation_rate=(1, 2, 1), padding="same"),
         [(1, 3, 5, 3, 2)]),
    case("conv2d_groups4_strides2", "Conv2D", dict(filters=4, kernel_size=3, groups=4, strides=2, padding="same"),
         [(2, 5, 5, 4)]),
    case("depthwise_conv1d_same_dm2", "DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2, padding="same"),
         [(2, 7, 3)]),
    case("depthwise_conv1d_strides2", "DepthwiseConv1D", dict(kernel_size=3, strides=2), [(2, 8, 2)]),
    case("separable_conv1d_same_dm2", "SeparableConv1D", dict(filters=4, kernel_size=3, padding="same",
                                                              depth_multiplier=2), [(2, 6, 3)]),
    case("separable_conv1d_dilation2_tanh", "SeparableConv1D", dict(filters=3, kernel_size=2, dilation_rate=2,
                                                                    activation="tanh"), [(2, 7, 2)]),
    case("global_average_pooling3d", "GlobalAveragePooling3D", {}, [(2, 2, 3, 2, 3)]),
    case("global_max_pooling3d_keepdims", "GlobalMaxPooling3D", dict(keepdims=True), [(2, 2, 3, 2, 3)]),
    case("zero_padding3d", "ZeroPadding3D", dict(padding=[[1, 0], [0, 2], [1, 1]]), [(1, 2, 2, 3, 2)]),
    case("cropping3d", "Cropping3D", dict(cropping=[[1, 0], [0, 1], [1, 1]]), [(1, 3, 3, 4, 2)]),
    case("up_sampling3d", "UpSampling3D", dict(size=[1, 2, 2]), [(1, 2, 2, 3, 2)]),
    case("up_sampling2d_bilinear_rect", "UpSampling2D", dict(size=[3, 2], interpolation="bilinear"),
         [(2, 3, 4, 2)]),
    case("spatial_dropout1d", "SpatialDropout1D", dict(rate=0.5), [(2, 5, 3)]),
    case("spatial_dropout3d", "SpatialDropout3D", dict(rate=0.5), [(1, 2, 3, 2, 3)]),
    # tied maxima (inputs in {0, 0.5, 1}): which of them the gradient reaches
    case("max_pooling1d_ties", "MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), [(2, 9, 3)]),
    case("max_pooling2d_ties", "MaxPooling2D", {}, [(2, 4, 6, 3)]),
    case("max_pooling2d_ties_overlapping", "MaxPooling2D", dict(pool_size=3, strides=2, padding="same"),
         [(2, 6, 7, 2)]),
    case("max_pooling3d_ties", "MaxPooling3D", dict(pool_size=2, strides=[1, 2, 2], padding="same"),
         [(1, 3, 4, 4, 2)]),
    case("global_max_pooling1d_ties", "GlobalMaxPooling1D", {}, [(2, 6, 3)]),
    case("global_max_pooling2d_ties", "GlobalMaxPooling2D", {}, [(2, 3, 4, 3)]),
]

_draw = gen._draw_inputs


def _draw_with_ties(c):
    xs = _draw(c)
    if c["case"].endswith("_ties") or "_ties_" in c["case"]:
        xs = [(np.round(np.maximum(x, 0) * 2) / 2).astype(x.dtype) for x in xs]
    return xs


gen._draw_inputs = _draw_with_ties


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; report files that would change")
    args = ap.parse_args(argv)
    names = [c["case"] for c in CASES]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate case names")
    OUT.mkdir(parents=True, exist_ok=True)
    metas, changed = [], []
    for c in CASES:
        meta, arrays = gen.run_case(c)
        metas.append(meta)
        data = gen.npz_bytes(arrays)
        path = OUT / f"{c['case']}.npz"
        if not path.exists() or path.read_bytes() != data:
            changed.append(path.name)
            if not args.check:
                path.write_bytes(data)
        print(f"{c['case']:40s} outputs {meta['output_shapes']}  f64 dev {meta['float64_deviation']}", flush=True)
    text = gen.index_text(metas)
    index = OUT / "cases.json"
    if not index.exists() or index.read_text() != text:
        changed.append(index.name)
        if not args.check:
            index.write_text(text)
    print(f"{len(metas)} cases; {'would change' if args.check else 'changed'}: {changed or 'nothing'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
