"""Keras reference values for every layer: forward outputs and GradientTape gradients.

Run with the reference environment (TensorFlow + Keras 3), never from the tests:

    /work/venv-ref/bin/python scripts/gen_keras_layer_refs.py [--only NAME_SUBSTRING] [--check]

For each case of ``CASES`` (a Keras layer class, its constructor kwargs, input shapes, a
training flag) it builds the layer, gives every weight seeded random values, draws seeded
inputs and upstream gradients ``dy``, and runs the layer under ``tf.GradientTape`` with
``L = sum_k sum(y_k * dy_k)``. It writes ``tests/reference/keras_layers/<case>.npz``
(inputs, weights, outputs, dy, dL/dinputs, dL/dtrainable weights, weights after the call)
and one ``cases.json`` describing every case; ``tests/reference/keras_layers/README.md``
documents the format. Every case is also run in float64 and the float32 result must agree
with it within the tolerance the tests use, so a case never demands more than float32
rounding allows. ``--check`` regenerates in memory and reports files that would change.

The numbers are reproducible: seeds derive from the case name (adding a case changes no
other file), TensorFlow runs single-threaded with oneDNN off and op determinism on, and the
.npz archives are written with fixed timestamps.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
import zlib
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.config.experimental.enable_op_determinism()

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "reference" / "keras_layers"

# The tolerance the comparison tests use (tests/keras_refs.py): |a - b| <= ATOL * scale + RTOL * |b|
# with scale = max(1, max |b|) over the array.
RTOL = 1e-4
ATOL = 1e-5


# --------------------------------------------------------------------------- the cases
def case(name, layer, config=None, inputs=((2, 5),), training=False, call_kwargs=None,
         dtypes=None, int_high=None, inputs_as=None, input_scale=1.0, same_as=None):
    """One reference case. ``inputs`` are full shapes (batch first); ``dtypes`` default to float32;
    ``int_high`` bounds integer inputs (ids in [0, int_high)); ``inputs_as`` says how the inputs
    are passed to the call: "single" (layer(x0)), "list" (layer([x0, x1, ...])) or a list of
    keyword names (layer(query=x0, value=x1, ...)); ``same_as`` maps an input index to an
    earlier one whose values it copies (self-attention: {1: 0})."""
    inputs = [tuple(s) for s in inputs]
    if inputs_as is None:
        inputs_as = "single" if len(inputs) == 1 else "list"
    return dict(case=name, layer=layer, config=dict(config or {}), input_shapes=inputs,
                input_dtypes=list(dtypes or ["float32"] * len(inputs)), training=bool(training),
                call_kwargs=dict(call_kwargs or {}), int_high=int_high, inputs_as=inputs_as,
                input_scale=input_scale, same_as={int(k): int(v) for k, v in (same_as or {}).items()})


def inner(class_name, **config):
    """A wrapped layer (Bidirectional, TimeDistributed) as {"class_name", "config"}."""
    return {"class_name": class_name, "config": config}


ACTIVATIONS = ["relu", "tanh", "sigmoid", "softmax", "gelu", "elu", "selu", "softplus", "softsign",
               "silu", "exponential", "hard_sigmoid", "hard_silu", "relu6", "leaky_relu", "mish",
               "log_softmax", "linear"]

CASES = [
    # --- core --------------------------------------------------------------------------
    case("dense", "Dense", dict(units=4), [(3, 5)]),
    case("dense_no_bias", "Dense", dict(units=4, use_bias=False), [(3, 5)]),
    *[case(f"dense_{a}", "Dense", dict(units=4, activation=a), [(3, 5)]) for a in ACTIVATIONS],
    case("dense_rank3_relu", "Dense", dict(units=4, activation="relu"), [(2, 3, 5)]),
    case("dense_rank4", "Dense", dict(units=3), [(2, 2, 3, 4)]),
    case("embedding", "Embedding", dict(input_dim=10, output_dim=4), [(3, 5)],
         dtypes=["int32"], int_high=10),
    case("embedding_rank1", "Embedding", dict(input_dim=6, output_dim=3), [(7,)],
         dtypes=["int32"], int_high=6),
    *[case(f"activation_{a}", "Activation", dict(activation=a), [(3, 6)])
      for a in ["relu", "tanh", "sigmoid", "softmax", "gelu", "elu", "selu", "softplus", "silu",
                "log_softmax", "hard_sigmoid"]],
    case("activation_softmax_rank3", "Activation", dict(activation="softmax"), [(2, 3, 4)]),
    case("relu", "ReLU", {}, [(3, 6)]),
    case("relu_max_value", "ReLU", dict(max_value=0.5), [(3, 6)]),
    case("relu_negative_slope", "ReLU", dict(negative_slope=0.1), [(3, 6)]),
    case("relu_threshold", "ReLU", dict(threshold=0.2), [(3, 6)]),
    case("relu_all_options", "ReLU", dict(max_value=0.6, negative_slope=0.2, threshold=0.1), [(3, 6)]),
    case("leaky_relu", "LeakyReLU", {}, [(3, 6)]),
    case("leaky_relu_slope", "LeakyReLU", dict(negative_slope=0.1), [(3, 6)]),
    case("prelu", "PReLU", {}, [(3, 6)]),
    case("prelu_shared_axes", "PReLU", dict(shared_axes=[1, 2]), [(2, 3, 4, 2)]),
    case("elu", "ELU", {}, [(3, 6)]),
    case("elu_alpha", "ELU", dict(alpha=0.5), [(3, 6)]),
    case("softmax", "Softmax", {}, [(3, 6)]),
    case("softmax_axis1", "Softmax", dict(axis=1), [(2, 4, 3)]),
    # --- regularization (inference: identity) --------------------------------------------
    case("dropout", "Dropout", dict(rate=0.5), [(3, 6)]),
    case("spatial_dropout2d", "SpatialDropout2D", dict(rate=0.5), [(2, 3, 3, 4)]),
    case("gaussian_noise", "GaussianNoise", dict(stddev=0.1), [(3, 6)]),
    # --- reshaping ---------------------------------------------------------------------
    case("flatten", "Flatten", {}, [(2, 3, 2, 4)]),
    case("flatten_rank2", "Flatten", {}, [(3, 5)]),
    case("reshape", "Reshape", dict(target_shape=[4, 3]), [(2, 3, 4)]),
    case("reshape_minus_one", "Reshape", dict(target_shape=[-1, 2]), [(2, 3, 4)]),
    case("permute", "Permute", dict(dims=[2, 1]), [(2, 3, 4)]),
    case("permute_rank4", "Permute", dict(dims=[3, 1, 2]), [(2, 3, 4, 2)]),
    case("repeat_vector", "RepeatVector", dict(n=3), [(2, 4)]),
    # --- merging -----------------------------------------------------------------------
    case("add", "Add", {}, [(3, 4), (3, 4)]),
    case("add_three", "Add", {}, [(2, 3, 4)] * 3),
    case("subtract", "Subtract", {}, [(3, 4), (3, 4)]),
    case("multiply", "Multiply", {}, [(3, 4), (3, 4)]),
    case("multiply_three", "Multiply", {}, [(3, 4)] * 3),
    case("average", "Average", {}, [(3, 4), (3, 4), (3, 4)]),
    case("maximum", "Maximum", {}, [(3, 4), (3, 4)]),
    case("minimum", "Minimum", {}, [(3, 4), (3, 4), (3, 4)]),
    case("concatenate", "Concatenate", {}, [(2, 3), (2, 4)]),
    case("concatenate_axis1", "Concatenate", dict(axis=1), [(2, 3, 4), (2, 2, 4)]),
    case("concatenate_three", "Concatenate", dict(axis=-1), [(2, 3, 1), (2, 3, 2), (2, 3, 3)]),
    case("dot_axes1", "Dot", dict(axes=1), [(3, 4), (3, 4)]),
    case("dot_axes1_normalize", "Dot", dict(axes=1, normalize=True), [(3, 4), (3, 4)]),
    case("dot_rank3_axes22", "Dot", dict(axes=[2, 2]), [(2, 3, 4), (2, 5, 4)]),
    case("dot_rank3_axes11", "Dot", dict(axes=[1, 1]), [(2, 3, 4), (2, 3, 5)]),
    case("dot_rank3_axes21_normalize", "Dot", dict(axes=[2, 1], normalize=True), [(2, 3, 4), (2, 4, 5)]),
    # --- convolution -------------------------------------------------------------------
    case("conv1d_valid", "Conv1D", dict(filters=3, kernel_size=3), [(2, 7, 2)]),
    case("conv1d_same_strides2", "Conv1D", dict(filters=3, kernel_size=3, strides=2, padding="same"),
         [(2, 8, 2)]),
    case("conv1d_causal_dilation2", "Conv1D", dict(filters=3, kernel_size=2, padding="causal",
                                                   dilation_rate=2, activation="tanh"), [(2, 7, 2)]),
    case("conv1d_groups2", "Conv1D", dict(filters=4, kernel_size=3, groups=2, padding="same"), [(2, 6, 4)]),
    case("conv2d_valid", "Conv2D", dict(filters=3, kernel_size=3), [(2, 5, 6, 2)]),
    case("conv2d_same_relu", "Conv2D", dict(filters=3, kernel_size=3, padding="same", activation="relu"),
         [(2, 5, 5, 2)]),
    case("conv2d_same_even_kernel", "Conv2D", dict(filters=2, kernel_size=2, padding="same"), [(2, 5, 4, 2)]),
    case("conv2d_strides2_valid", "Conv2D", dict(filters=3, kernel_size=3, strides=2), [(2, 7, 6, 2)]),
    case("conv2d_strides2_same", "Conv2D", dict(filters=3, kernel_size=3, strides=2, padding="same"),
         [(2, 6, 7, 2)]),
    case("conv2d_strides2_same_even_kernel", "Conv2D", dict(filters=2, kernel_size=4, strides=2,
                                                            padding="same"), [(2, 6, 5, 2)]),
    case("conv2d_dilation2", "Conv2D", dict(filters=3, kernel_size=3, dilation_rate=2), [(2, 7, 7, 2)]),
    case("conv2d_dilation2_same", "Conv2D", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"),
         [(2, 5, 6, 2)]),
    case("conv2d_groups2", "Conv2D", dict(filters=4, kernel_size=3, groups=2), [(2, 5, 5, 4)]),
    case("conv2d_no_bias_rect", "Conv2D", dict(filters=3, kernel_size=[2, 3], strides=[2, 1],
                                               use_bias=False), [(2, 6, 5, 2)]),
    case("conv3d_valid", "Conv3D", dict(filters=2, kernel_size=2), [(2, 4, 3, 4, 2)]),
    case("conv3d_same_strides2", "Conv3D", dict(filters=2, kernel_size=3, strides=2, padding="same"),
         [(1, 4, 5, 4, 2)]),
    case("conv2d_transpose_strides2_same", "Conv2DTranspose",
         dict(filters=3, kernel_size=3, strides=2, padding="same"), [(2, 3, 4, 2)]),
    case("conv2d_transpose_strides2_valid", "Conv2DTranspose",
         dict(filters=3, kernel_size=3, strides=2, padding="valid"), [(2, 3, 4, 2)]),
    case("conv2d_transpose_strides1_valid", "Conv2DTranspose",
         dict(filters=2, kernel_size=3, padding="valid", activation="relu"), [(2, 3, 3, 2)]),
    case("conv2d_transpose_strides2_same_even_kernel", "Conv2DTranspose",
         dict(filters=2, kernel_size=4, strides=2, padding="same"), [(2, 3, 3, 2)]),
    case("conv2d_transpose_output_padding", "Conv2DTranspose",
         dict(filters=2, kernel_size=3, strides=2, padding="valid", output_padding=1), [(2, 3, 3, 2)]),
    case("conv2d_transpose_strides2_kernel2", "Conv2DTranspose",
         dict(filters=2, kernel_size=2, strides=2, use_bias=False), [(2, 3, 2, 3)]),
    case("depthwise_conv2d_valid", "DepthwiseConv2D", dict(kernel_size=3), [(2, 5, 5, 3)]),
    case("depthwise_conv2d_same_dm2_strides2", "DepthwiseConv2D",
         dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), [(2, 6, 5, 2)]),
    case("depthwise_conv2d_dilation2", "DepthwiseConv2D",
         dict(kernel_size=2, dilation_rate=2, activation="relu"), [(2, 5, 5, 2)]),
    case("separable_conv2d_same", "SeparableConv2D", dict(filters=4, kernel_size=3, padding="same"),
         [(2, 5, 5, 3)]),
    case("separable_conv2d_dm2_strides2", "SeparableConv2D",
         dict(filters=3, kernel_size=3, depth_multiplier=2, strides=2), [(2, 7, 6, 2)]),
    case("separable_conv2d_no_bias_relu", "SeparableConv2D",
         dict(filters=3, kernel_size=2, use_bias=False, activation="relu"), [(2, 4, 4, 2)]),
    # --- pooling -----------------------------------------------------------------------
    case("max_pooling1d", "MaxPooling1D", {}, [(2, 7, 3)]),
    case("max_pooling1d_same_strides2", "MaxPooling1D", dict(pool_size=3, strides=2, padding="same"),
         [(2, 8, 3)]),
    case("max_pooling1d_strides1", "MaxPooling1D", dict(pool_size=3, strides=1), [(2, 6, 2)]),
    case("max_pooling2d", "MaxPooling2D", {}, [(2, 5, 6, 3)]),
    case("max_pooling2d_same_3x3_strides2", "MaxPooling2D", dict(pool_size=3, strides=2, padding="same"),
         [(2, 6, 7, 2)]),
    case("max_pooling2d_valid_3x3_strides1", "MaxPooling2D", dict(pool_size=3, strides=1), [(2, 5, 5, 2)]),
    case("max_pooling2d_same_strides1", "MaxPooling2D", dict(pool_size=2, strides=1, padding="same"),
         [(2, 4, 5, 2)]),
    case("max_pooling2d_rect", "MaxPooling2D", dict(pool_size=[2, 3], strides=[1, 2]), [(2, 5, 7, 2)]),
    case("max_pooling3d", "MaxPooling3D", {}, [(2, 4, 5, 4, 2)]),
    case("max_pooling3d_same_strides2", "MaxPooling3D", dict(pool_size=3, strides=2, padding="same"),
         [(1, 5, 4, 5, 2)]),
    case("average_pooling1d", "AveragePooling1D", dict(pool_size=2), [(2, 7, 3)]),
    case("average_pooling1d_same_strides2", "AveragePooling1D",
         dict(pool_size=3, strides=2, padding="same"), [(2, 8, 3)]),
    case("average_pooling2d", "AveragePooling2D", dict(pool_size=2), [(2, 5, 6, 3)]),
    case("average_pooling2d_same_3x3_strides2", "AveragePooling2D",
         dict(pool_size=3, strides=2, padding="same"), [(2, 6, 7, 2)]),
    case("average_pooling2d_same_strides1", "AveragePooling2D",
         dict(pool_size=2, strides=1, padding="same"), [(2, 4, 5, 2)]),
    case("average_pooling2d_valid_strides1", "AveragePooling2D", dict(pool_size=3, strides=1), [(2, 5, 5, 2)]),
    case("average_pooling3d", "AveragePooling3D", dict(pool_size=2), [(2, 4, 5, 4, 2)]),
    case("average_pooling3d_same_strides2", "AveragePooling3D",
         dict(pool_size=3, strides=2, padding="same"), [(1, 5, 4, 5, 2)]),
    case("global_average_pooling1d", "GlobalAveragePooling1D", {}, [(2, 5, 3)]),
    case("global_average_pooling1d_keepdims", "GlobalAveragePooling1D", dict(keepdims=True), [(2, 5, 3)]),
    case("global_average_pooling2d", "GlobalAveragePooling2D", {}, [(2, 4, 5, 3)]),
    case("global_average_pooling2d_keepdims", "GlobalAveragePooling2D", dict(keepdims=True), [(2, 4, 5, 3)]),
    case("global_max_pooling1d", "GlobalMaxPooling1D", {}, [(2, 5, 3)]),
    case("global_max_pooling1d_keepdims", "GlobalMaxPooling1D", dict(keepdims=True), [(2, 5, 3)]),
    case("global_max_pooling2d", "GlobalMaxPooling2D", {}, [(2, 4, 5, 3)]),
    case("global_max_pooling2d_keepdims", "GlobalMaxPooling2D", dict(keepdims=True), [(2, 4, 5, 3)]),
    # --- padding, cropping, upsampling -----------------------------------------------------
    case("zero_padding1d", "ZeroPadding1D", {}, [(2, 4, 3)]),
    case("zero_padding1d_asym", "ZeroPadding1D", dict(padding=[1, 2]), [(2, 4, 3)]),
    case("zero_padding2d", "ZeroPadding2D", {}, [(2, 3, 4, 2)]),
    case("zero_padding2d_asym", "ZeroPadding2D", dict(padding=[[1, 2], [0, 1]]), [(2, 3, 4, 2)]),
    case("cropping1d", "Cropping1D", {}, [(2, 6, 3)]),
    case("cropping1d_asym", "Cropping1D", dict(cropping=[2, 1]), [(2, 6, 3)]),
    case("cropping2d", "Cropping2D", dict(cropping=1), [(2, 5, 6, 2)]),
    case("cropping2d_asym", "Cropping2D", dict(cropping=[[1, 0], [2, 1]]), [(2, 5, 6, 2)]),
    case("up_sampling1d", "UpSampling1D", {}, [(2, 3, 2)]),
    case("up_sampling1d_size3", "UpSampling1D", dict(size=3), [(2, 3, 2)]),
    case("up_sampling2d", "UpSampling2D", {}, [(2, 3, 2, 2)]),
    case("up_sampling2d_rect", "UpSampling2D", dict(size=[2, 3]), [(2, 3, 2, 2)]),
    case("up_sampling2d_bilinear", "UpSampling2D", dict(size=2, interpolation="bilinear"), [(2, 3, 4, 2)]),
    # --- normalization -------------------------------------------------------------------
    case("batch_normalization_inference", "BatchNormalization", {}, [(4, 3)]),
    case("batch_normalization_training", "BatchNormalization", {}, [(4, 3)], training=True),
    case("batch_normalization_rank4_training", "BatchNormalization", {}, [(3, 2, 3, 4)], training=True),
    case("batch_normalization_rank4_inference", "BatchNormalization", {}, [(3, 2, 3, 4)]),
    case("batch_normalization_axis1_training", "BatchNormalization", dict(axis=1), [(3, 4, 2, 2)],
         training=True),
    case("batch_normalization_axis1_inference", "BatchNormalization", dict(axis=1), [(3, 4, 2, 2)]),
    case("batch_normalization_momentum_epsilon_training", "BatchNormalization",
         dict(momentum=0.9, epsilon=1e-5), [(5, 3)], training=True),
    case("batch_normalization_no_center_no_scale_training", "BatchNormalization",
         dict(center=False, scale=False), [(4, 3)], training=True),
    case("batch_normalization_no_scale_inference", "BatchNormalization", dict(scale=False), [(4, 3)]),
    case("layer_normalization", "LayerNormalization", {}, [(3, 5)]),
    case("layer_normalization_rank3", "LayerNormalization", {}, [(2, 3, 4)]),
    case("layer_normalization_axes12", "LayerNormalization", dict(axis=[1, 2]), [(2, 3, 4)]),
    case("layer_normalization_no_center_no_scale", "LayerNormalization",
         dict(center=False, scale=False, epsilon=1e-5), [(3, 5)]),
    case("layer_normalization_rms_scaling", "LayerNormalization", dict(rms_scaling=True), [(2, 3, 4)]),
    case("group_normalization", "GroupNormalization", dict(groups=2), [(2, 3, 3, 4)]),
    case("group_normalization_rank3_groups4", "GroupNormalization", dict(groups=4), [(2, 5, 4)]),
    case("group_normalization_groups1", "GroupNormalization", dict(groups=1, epsilon=1e-5), [(2, 3, 6)]),
    case("group_normalization_no_center_no_scale", "GroupNormalization",
         dict(groups=3, center=False, scale=False), [(2, 4, 6)]),
    # --- recurrent -----------------------------------------------------------------------
    case("simple_rnn", "SimpleRNN", dict(units=4), [(2, 5, 3)]),
    case("simple_rnn_return_sequences", "SimpleRNN", dict(units=4, return_sequences=True), [(2, 5, 3)]),
    case("simple_rnn_return_state", "SimpleRNN", dict(units=4, return_state=True), [(2, 5, 3)]),
    case("simple_rnn_go_backwards_relu", "SimpleRNN",
         dict(units=3, go_backwards=True, return_sequences=True, activation="relu"), [(2, 4, 3)]),
    case("simple_rnn_no_bias", "SimpleRNN", dict(units=3, use_bias=False), [(2, 4, 3)]),
    case("lstm", "LSTM", dict(units=4), [(2, 5, 3)]),
    case("lstm_return_sequences", "LSTM", dict(units=4, return_sequences=True), [(2, 5, 3)]),
    case("lstm_return_state", "LSTM", dict(units=4, return_state=True), [(2, 5, 3)]),
    case("lstm_go_backwards", "LSTM", dict(units=3, go_backwards=True), [(2, 4, 3)]),
    case("lstm_sequences_state_backwards", "LSTM",
         dict(units=3, return_sequences=True, return_state=True, go_backwards=True), [(2, 4, 2)]),
    case("lstm_no_bias", "LSTM", dict(units=3, use_bias=False), [(2, 4, 3)]),
    case("gru", "GRU", dict(units=4), [(2, 5, 3)]),
    case("gru_return_sequences_state", "GRU", dict(units=4, return_sequences=True, return_state=True),
         [(2, 5, 3)]),
    case("gru_go_backwards", "GRU", dict(units=3, go_backwards=True, return_sequences=True), [(2, 4, 3)]),
    case("gru_reset_before", "GRU", dict(units=4, reset_after=False), [(2, 5, 3)]),
    case("gru_reset_before_sequences_state", "GRU",
         dict(units=3, reset_after=False, return_sequences=True, return_state=True), [(2, 4, 3)]),
    case("gru_no_bias", "GRU", dict(units=3, use_bias=False), [(2, 4, 3)]),
    # --- wrappers ----------------------------------------------------------------------
    *[case(f"bidirectional_lstm_{m}", "Bidirectional",
           dict(layer=inner("LSTM", units=3, return_sequences=True), merge_mode=m), [(2, 4, 3)])
      for m in ["concat", "sum", "mul", "ave"]],
    case("bidirectional_lstm_none", "Bidirectional",
         dict(layer=inner("LSTM", units=3, return_sequences=True), merge_mode=None), [(2, 4, 3)]),
    case("bidirectional_lstm_last_concat", "Bidirectional", dict(layer=inner("LSTM", units=3)), [(2, 4, 3)]),
    case("bidirectional_lstm_return_state", "Bidirectional",
         dict(layer=inner("LSTM", units=3, return_state=True)), [(2, 4, 3)]),
    case("bidirectional_gru_concat", "Bidirectional", dict(layer=inner("GRU", units=3, return_sequences=True)),
         [(2, 4, 3)]),
    case("bidirectional_simple_rnn_sum", "Bidirectional",
         dict(layer=inner("SimpleRNN", units=3), merge_mode="sum"), [(2, 4, 3)]),
    case("time_distributed_dense", "TimeDistributed", dict(layer=inner("Dense", units=3, activation="tanh")),
         [(2, 4, 5)]),
    case("time_distributed_conv2d", "TimeDistributed",
         dict(layer=inner("Conv2D", filters=2, kernel_size=3, padding="same")), [(2, 3, 4, 4, 2)]),
    # --- attention ---------------------------------------------------------------------
    # Self-attention passes equal arrays as query and value (x0 == x1), so dx0 and dx1 are the
    # gradients through the query and through the value/key paths; their sum is d/dx.
    case("mha_self", "MultiHeadAttention", dict(num_heads=2, key_dim=3), [(2, 4, 6), (2, 4, 6)],
         inputs_as=["query", "value"], same_as={1: 0}),
    case("mha_cross", "MultiHeadAttention", dict(num_heads=2, key_dim=3),
         [(2, 3, 6), (2, 5, 4)], inputs_as=["query", "value"]),
    case("mha_cross_key", "MultiHeadAttention", dict(num_heads=2, key_dim=3),
         [(2, 3, 6), (2, 5, 4), (2, 5, 5)], inputs_as=["query", "value", "key"]),
    case("mha_causal", "MultiHeadAttention", dict(num_heads=2, key_dim=3), [(2, 4, 6), (2, 4, 6)],
         inputs_as=["query", "value"], same_as={1: 0}, call_kwargs=dict(use_causal_mask=True)),
    case("mha_scores", "MultiHeadAttention", dict(num_heads=2, key_dim=3), [(2, 3, 6), (2, 5, 4)],
         inputs_as=["query", "value"], call_kwargs=dict(return_attention_scores=True)),
    case("mha_causal_scores", "MultiHeadAttention", dict(num_heads=3, key_dim=2), [(2, 4, 5), (2, 4, 5)],
         inputs_as=["query", "value"], same_as={1: 0}, call_kwargs=dict(use_causal_mask=True, return_attention_scores=True)),
    case("mha_value_dim", "MultiHeadAttention", dict(num_heads=2, key_dim=3, value_dim=5),
         [(2, 3, 6), (2, 4, 6)], inputs_as=["query", "value"]),
    case("mha_output_shape_no_bias", "MultiHeadAttention",
         dict(num_heads=2, key_dim=2, value_dim=3, output_shape=[7], use_bias=False),
         [(2, 3, 4), (2, 4, 5)], inputs_as=["query", "value"]),
    case("mha_attention_mask", "MultiHeadAttention", dict(num_heads=2, key_dim=3),
         [(2, 3, 6), (2, 4, 6), (2, 3, 4)], dtypes=["float32", "float32", "bool"],
         inputs_as=["query", "value", "attention_mask"], call_kwargs=dict(return_attention_scores=True)),
]

# Input is not a computation: its cases record only the symbolic tensor keras.Input returns.
INPUT_CASES = [
    dict(case="input", config=dict(shape=[4, 3])),
    dict(case="input_image_batch_size", config=dict(shape=[28, 28, 1], batch_size=8)),
    dict(case="input_int32", config=dict(shape=[5], dtype="int32")),
    dict(case="input_unknown_length", config=dict(shape=[None, 3])),
]


# --------------------------------------------------------------------------- running one case
def _seed(name: str, what: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{name}/{what}".encode()))


def _make_layer(class_name, config, name, dtype):
    config = dict(config)
    if "layer" in config:  # wrappers: build the inner layer first
        spec = config.pop("layer")
        config["layer"] = _make_layer(spec["class_name"], spec["config"], None, dtype)
    cls = getattr(keras.layers, class_name)
    kwargs = dict(config, dtype=dtype)
    if name is not None:
        kwargs["name"] = name
    return cls(**kwargs)


def _call(layer, xs, c, training):
    if c["inputs_as"] == "single":
        return layer(xs[0], training=training, **c["call_kwargs"])
    if c["inputs_as"] == "list":
        return layer(list(xs), training=training, **c["call_kwargs"])
    kw = dict(zip(c["inputs_as"], xs))
    return layer(**kw, training=training, **c["call_kwargs"])


def _flat(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _draw_inputs(c):
    xs = []
    for i, (shape, dt) in enumerate(zip(c["input_shapes"], c["input_dtypes"])):
        rng = _seed(c["case"], f"x{i}")
        if dt == "int32":
            xs.append(rng.integers(0, c["int_high"], size=shape).astype(np.int32))
        elif dt == "bool":
            m = rng.random(shape) < 0.7
            m[..., 0] = True  # every query sees at least one key
            xs.append(m)
        else:
            xs.append((c["input_scale"] * rng.uniform(-1.0, 1.0, size=shape)).astype(np.float32))
    for i, j in c["same_as"].items():
        xs[i] = xs[j].copy()
    return xs


def _draw_weights(c, layer):
    rng = _seed(c["case"], "weights")
    out = []
    for v in layer.weights:
        shape = tuple(v.shape)
        leaf = v.path.rsplit("/", 1)[-1]
        if leaf in ("moving_variance", "gamma"):
            out.append(rng.uniform(0.5, 1.5, size=shape).astype(np.float32))
        else:
            out.append(rng.uniform(-0.5, 0.5, size=shape).astype(np.float32))
    return out


def _run(c, dtype, xs, weights, dys=None):
    """Forward + GradientTape in ``dtype``; returns a dict of numpy arrays and metadata."""
    keras.utils.clear_session()
    layer = _make_layer(c["layer"], c["config"], c["case"], dtype)
    cast = [x.astype(dtype) if x.dtype == np.float32 else x for x in xs]
    _call(layer, [tf.constant(x) for x in cast], c, False)  # builds the layer
    layer.set_weights([w.astype(dtype) for w in weights])
    tx = [tf.constant(x) for x in cast]
    float_idx = [i for i, x in enumerate(cast) if x.dtype.kind == "f"]
    with tf.GradientTape() as tape:
        for i in float_idx:
            tape.watch(tx[i])
        ys = _flat(_call(layer, tx, c, c["training"]))
        if dys is None:
            rng = _seed(c["case"], "dy")
            dys = [rng.uniform(-1.0, 1.0, size=tuple(y.shape)).astype(np.float32) for y in ys]
        loss = tf.add_n([tf.reduce_sum(y * tf.constant(d.astype(dtype))) for y, d in zip(ys, dys)])
    targets = [tx[i] for i in float_idx] + list(layer.trainable_weights)
    grads = tape.gradient(loss, targets)
    for t, g in zip(targets, grads):
        if g is None:
            raise RuntimeError(f"{c['case']}: no gradient for {getattr(t, 'path', 'an input')}")
    grads = [tf.convert_to_tensor(g).numpy() for g in grads]
    return dict(
        layer=layer, ys=[y.numpy() for y in ys], dys=dys,
        dxs=dict(zip(float_idx, grads[:len(float_idx)])), gs=grads[len(float_idx):],
        w_after=[np.asarray(w) for w in layer.get_weights()],
    )


def _symbolic_shapes(c):
    keras.utils.clear_session()
    layer = _make_layer(c["layer"], c["config"], c["case"], "float32")
    ins = [keras.Input(shape=s[1:], dtype=d) for s, d in zip(c["input_shapes"], c["input_dtypes"])]
    return [list(t.shape) for t in _flat(_call(layer, ins, c, False))]


def _close(a, b):
    """Max violation of |a - b| <= ATOL * max(1, max|b|) + RTOL * |b| (<= 1 means within tolerance)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.size == 0:
        return 0.0
    tol = ATOL * max(1.0, float(np.abs(b).max())) + RTOL * np.abs(b)
    return float((np.abs(a - b) / tol).max())


def run_case(c):
    xs = _draw_inputs(c)
    keras.utils.clear_session()
    probe = _make_layer(c["layer"], c["config"], c["case"], "float32")
    _call(probe, [tf.constant(x) for x in xs], c, False)
    weights = _draw_weights(c, probe)
    r32 = _run(c, "float32", xs, weights)
    layer = r32["layer"]
    # the same computation in float64: float32 must be within the tests' tolerance of it
    try:
        r64 = _run(c, "float64", xs, weights, r32["dys"])
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.UnimplementedError):
        r64 = None  # TensorFlow has no float64 kernel for this op (MaxPool3D)
    worst = None
    if r64 is not None:
        worst = 0.0
        for key in ("ys", "gs", "w_after"):
            for a, b in zip(r32[key], r64[key]):
                worst = max(worst, _close(a, b))
        for i in r32["dxs"]:
            worst = max(worst, _close(r32["dxs"][i], r64["dxs"][i]))

    arrays = {}
    for i, x in enumerate(xs):
        arrays[f"x{i}"] = x
    for i, w in enumerate(weights):
        arrays[f"w{i}"] = w
    for i, (y, dy) in enumerate(zip(r32["ys"], r32["dys"])):
        arrays[f"y{i}"] = y.astype(np.float32)
        arrays[f"dy{i}"] = dy
    for i, dx in r32["dxs"].items():
        arrays[f"dx{i}"] = dx.astype(np.float32)
    for i, g in enumerate(r32["gs"]):
        arrays[f"g{i}"] = g.astype(np.float32)
    for i, w in enumerate(r32["w_after"]):
        arrays[f"w_after{i}"] = w.astype(np.float32)

    trainable_ids = {id(v) for v in layer.trainable_weights}
    meta = {
        "case": c["case"], "layer": c["layer"], "layer_name": c["case"], "config": c["config"],
        "input_shapes": [list(s) for s in c["input_shapes"]], "input_dtypes": c["input_dtypes"],
        "inputs_as": c["inputs_as"], "same_as": {str(k): v for k, v in c["same_as"].items()},
        "training": c["training"], "call_kwargs": c["call_kwargs"],
        "weight_names": [v.name for v in layer.weights],
        "weight_paths": [v.path for v in layer.weights],
        "weight_shapes": [list(v.shape) for v in layer.weights],
        "weight_trainable": [id(v) in trainable_ids for v in layer.weights],
        "trainable_weight_names": [v.name for v in layer.trainable_weights],
        "trainable_weight_paths": [v.path for v in layer.trainable_weights],
        "output_shapes": [list(y.shape) for y in r32["ys"]],
        "symbolic_output_shapes": _symbolic_shapes(c),
        "dx_inputs": sorted(r32["dxs"]),
        "keys": list(arrays),
        "float64_deviation": None if worst is None else round(worst, 4),
        "keras_version": keras.__version__, "tensorflow_version": tf.__version__,
    }
    if worst is not None and worst > 1.0:
        raise RuntimeError(f"{c['case']}: float32 is {worst:.2f}x the tolerance away from float64; "
                           "rescale the case")
    return meta, arrays


def run_input_case(c):
    keras.utils.clear_session()
    t = keras.Input(**c["config"])
    meta = {
        "case": c["case"], "layer": "Input", "layer_name": None, "config": c["config"],
        "input_shapes": [], "input_dtypes": [], "inputs_as": "none", "same_as": {}, "training": False, "call_kwargs": {},
        "weight_names": [], "weight_paths": [], "weight_shapes": [], "weight_trainable": [],
        "trainable_weight_names": [], "trainable_weight_paths": [],
        "output_shapes": [list(t.shape)], "symbolic_output_shapes": [list(t.shape)],
        "output_dtypes": [str(t.dtype)], "dx_inputs": [], "keys": [], "float64_deviation": 0.0,
        "keras_version": keras.__version__, "tensorflow_version": tf.__version__,
    }
    return meta, {}


# --------------------------------------------------------------------------- writing
def npz_bytes(arrays: dict) -> bytes:
    """An .npz (readable by np.load) with fixed timestamps, so equal arrays give equal bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            body = io.BytesIO()
            np.lib.format.write_array(body, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(info, body.getvalue())
    return buf.getvalue()


def index_text(entries: list[dict]) -> str:
    """cases.json: a list of objects, one key per line with compact values (short, diff-friendly)."""
    blocks = []
    for entry in entries:
        lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in entry.items()]
        blocks.append("{\n" + ",\n".join(lines) + "\n}")
    return "[\n" + ",\n".join(blocks) + "\n]\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="regenerate only the cases whose name contains this")
    ap.add_argument("--check", action="store_true", help="write nothing; report files that would change")
    args = ap.parse_args(argv)

    names = [c["case"] for c in CASES] + [c["case"] for c in INPUT_CASES]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate case names")
    OUT.mkdir(parents=True, exist_ok=True)
    index_path = OUT / "cases.json"
    old = {m["case"]: m for m in json.loads(index_path.read_text())} if index_path.exists() else {}

    metas, changed = [], []
    todo = [(run_input_case, c) for c in INPUT_CASES] + [(run_case, c) for c in CASES]
    for fn, c in todo:
        if args.only and args.only not in c["case"] and c["case"] in old:
            metas.append(old[c["case"]])
            continue
        meta, arrays = fn(c)
        metas.append(meta)
        data = npz_bytes(arrays)
        path = OUT / f"{c['case']}.npz"
        if not path.exists() or path.read_bytes() != data:
            changed.append(path.name)
            if not args.check:
                path.write_bytes(data)
        print(f"{c['case']:50s} outputs {meta['output_shapes']}  f64 dev {meta['float64_deviation']}",
              flush=True)
    text = index_text(metas)
    if not index_path.exists() or index_path.read_text() != text:
        changed.append("cases.json")
        if not args.check:
            index_path.write_text(text)
    stale = sorted(p.name for p in OUT.glob("*.npz") if p.stem not in set(names))
    for name in stale:
        changed.append(f"{name} (no such case)")
        if not args.check:
            (OUT / name).unlink()
    print(f"{len(metas)} cases; {'would change' if args.check else 'changed'}: {changed or 'nothing'}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
