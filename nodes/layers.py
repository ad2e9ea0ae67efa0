"""Layer nodes: HAIBAL's Define palette ("Layers"), one node per Keras layer, from the table below.

Wiring Input -> layers -> a Model node builds a model: between layer nodes flows a model
wire (``_model_wires``), whose static type carries its shape, so a layer fed a shape it
cannot take is a validation problem naming the layer and the shapes before anything runs.
Each entry gives the Keras class, the constructor arguments shown as parameters (Keras'
names and defaults; their help texts are written once, in ``_keras_args``), the ranks the
input takes (batch included), and a help page. Type ids are ``haibal.layers.<KerasClassName>``.
The node's name becomes the Keras layer name (the summary reads like the graph).
"""

from __future__ import annotations

from haibal_py import layers as L
from haibal_py.errors import HaibalValueError
from haibal_py.node import Instance, Node, Port
from haibal_py.node.factory import declare_node
from haibal_py.node.types import PortType
from haibal_py.numeric.keras_api import snake_case
from haibal_py.numeric.models.graph import walk_calls

from ._keras_args import ARGS
from ._layer_decl import Y, LayerDecl, layer_node
from ._model_wires import layer_name

CATEGORY = "Layers"

# -- argument lists several layers share --------------------------------------------------------------
DENSE_WEIGHTS = ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                 "activity_regularizer")
NORM_WEIGHTS = ("beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer")
RNN_COMMON = ("use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer", "dropout", "recurrent_dropout", "seed",
              "return_sequences", "return_state", "go_backwards")
MERGE_USE = "Merge branches of a functional model (skip connections, multi-input models)."
STATE_DOC = "the final {} state (return_state), a model wire; empty otherwise."


def _rnn_ports(n_states: int):
    names = ("state_h", "state_c")[:n_states]

    def output_names(params) -> tuple[str, ...]:
        return (Y, *names) if params["return_state"] else (Y,)
    return output_names


KERNEL = {1: "3", 2: "3, 3", 3: "3, 3, 3"}
AXES = {1: "steps", 2: "rows and columns", 3: "three spatial axes"}
KERNEL_LAYOUT = {1: "(k, channels, filters)", 2: "(kh, kw, channels, filters)", 3: "(kd, kh, kw, channels, filters)"}
SPATIAL_X = {1: "a sequence (batch, steps, channels).", 2: "images (batch, rows, columns, channels).",
             3: "volumes (batch, depth, rows, columns, channels)."}
CONV_USES = {1: ("Sequence and audio models (with causal padding: temporal convolutions).",),
             2: ("Image classifiers and detectors: Conv2D -> pooling blocks.",),
             3: ("Video and volumetric (medical) images.",)}

RNN_OUTPUTS_1 = ((Y, "the output: the last step (batch, units), or every step with return_sequences."),
                 ("state_h", STATE_DOC.format("hidden")))
RNN_OUTPUTS_2 = RNN_OUTPUTS_1 + (("state_c", STATE_DOC.format("cell")),)


DECLARATIONS = [
    # ------------------------------------------------------------------ core
    LayerDecl(
        name="Dense", layer=L.Dense,
        args=("units", "activation", "use_bias") + DENSE_WEIGHTS,
        defaults={"units": 32},
        description="A fully connected layer: activation(x @ kernel + bias) on the last axis of the input "
                    "(kernel (features, units), bias (units,)).",
        use_cases=("Hidden layers of a multilayer perceptron.", "The classifier head after Flatten or pooling.")),
    LayerDecl(
        name="Embedding", layer=L.Embedding, ranks=(1, None),
        args=("input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer"),
        defaults={"input_dim": 1000, "output_dim": 64},
        x_doc="integer token ids in [0, input_dim) (a model wire from an int Input).",
        description="Turns integer ids into dense vectors: embeddings[ids], embeddings (input_dim, output_dim).",
        use_cases=("The first layer of a text or sequence model.", "Learned vectors for categorical features.")),
    # ------------------------------------------------------------------ activations
    LayerDecl(
        name="Activation", layer=L.Activation, ranks=(1, None), weights=False,
        args=(("activation", "activation_name"),), defaults={"activation": "relu"},
        description="Applies an activation function to its input (any function of the Activations palette).",
        use_cases=("An activation after a BatchNormalization (Conv -> BN -> ReLU).",)),
    LayerDecl(
        name="ReLU", layer=L.ReLU, ranks=(1, None), weights=False,
        args=("max_value", "negative_slope", "threshold"),
        description="The rectified linear unit: max(x, 0), with an optional cap, slope and threshold.",
        use_cases=("Hidden layers of convolutional networks.",)),
    LayerDecl(
        name="LeakyReLU", layer=L.LeakyReLU, ranks=(1, None), weights=False,
        args=("negative_slope",), docs={"negative_slope": "the slope for negative inputs."},
        description="The leaky ReLU: x for x > 0, negative_slope * x otherwise.",
        use_cases=("GAN discriminators and networks where ReLU units die.",)),
    LayerDecl(
        name="PReLU", layer=L.PReLU, ranks=(2, None),
        args=("alpha_initializer", "alpha_regularizer", "shared_axes"),
        description="The parametric ReLU: x for x > 0, alpha * x otherwise, with alpha learned per value "
                    "(or per channel with shared_axes).",
        use_cases=("Deep image classifiers where the negative slope is worth learning (He et al. 2015).",)),
    LayerDecl(
        name="ELU", layer=L.ELU, ranks=(1, None), weights=False, args=("alpha",),
        description="The exponential linear unit: x for x > 0, alpha * (exp(x) - 1) otherwise.",
        use_cases=("Hidden layers whose mean activation should stay near zero.",)),
    LayerDecl(
        name="Softmax", layer=L.Softmax, ranks=(1, None), weights=False, args=("axis",),
        docs={"axis": "the axis (or axes) normalised to sum to 1; -1: the last."},
        description="The softmax: exp(x) / sum(exp(x)) along an axis, a probability distribution.",
        use_cases=("The output of a multi-class classifier, after a Dense of logits.",)),
    # ------------------------------------------------------------------ regularization
    LayerDecl(
        name="Dropout", layer=L.Dropout, ranks=(1, None), weights=False,
        args=("rate", "noise_shape", "seed"), defaults={"rate": 0.5},
        description="Sets a fraction rate of its inputs to 0 while training, scaling the others by "
                    "1 / (1 - rate); the identity in inference.",
        use_cases=("Against overfitting, between the dense layers of a classifier.",)),
    LayerDecl(
        name="GaussianNoise", layer=L.GaussianNoise, ranks=(1, None), weights=False,
        args=("stddev", "seed"), defaults={"stddev": 0.1},
        description="Adds zero-centred Gaussian noise of stddev to its input while training; the identity "
                    "in inference.",
        use_cases=("A regulariser for small datasets; robustness to noisy inputs.",)),
    # ------------------------------------------------------------------ reshaping
    LayerDecl(
        name="Flatten", layer=L.Flatten, ranks=(1, None), weights=False,
        description="Flattens every axis but the batch axis: (batch, 5, 5, 32) -> (batch, 800).",
        use_cases=("Between the convolutional part of a CNN and its dense classifier.",)),
    LayerDecl(
        name="Reshape", layer=L.Reshape, ranks=(1, None), weights=False, args=("target_shape",),
        defaults={"target_shape": "-1"},
        description="Reshapes the input to target_shape (the batch axis kept; one -1 is inferred).",
        use_cases=("Turn a flat vector into an image or a sequence.",)),
    LayerDecl(
        name="Permute", layer=L.Permute, ranks=(2, None), weights=False, args=("dims",),
        defaults={"dims": "2, 1"},
        description="Reorders the axes after the batch axis (1-based): dims 2, 1 swaps time and features.",
        use_cases=("Put the axis a layer works on last (channels first to channels last).",)),
    LayerDecl(
        name="RepeatVector", layer=L.RepeatVector, ranks=(2, 2), weights=False, args=("n",),
        defaults={"n": 3},
        description="Repeats a vector n times: (batch, features) -> (batch, n, features).",
        use_cases=("Feed an encoder's summary vector to every step of a decoder (seq2seq).",)),
    # ------------------------------------------------------------------ merging
    *[LayerDecl(name=name, layer=getattr(L, name), ports="merge", ranks=(1, None), weights=False,
                description=text, use_cases=(MERGE_USE,) + extra)
      for name, text, extra in (
          ("Add", "The sum of its inputs (same shapes, or shapes that broadcast).",
           ("Residual (skip) connections: x + f(x).",)),
          ("Subtract", "The difference of its two inputs: x1 - x2 (x3 and x4 stay unwired).", ()),
          ("Multiply", "The element-wise product of its inputs.", ("Gating: x * sigmoid(g).",)),
          ("Average", "The element-wise mean of its inputs.", ("Ensembling the outputs of branches.",)),
          ("Maximum", "The element-wise maximum of its inputs.", ()),
          ("Minimum", "The element-wise minimum of its inputs.", ()))],
    LayerDecl(
        name="Concatenate", layer=L.Concatenate, ports="merge", ranks=(1, None), weights=False, args=("axis",),
        docs={"axis": "the axis the inputs are joined along; -1: the features."},
        description="Joins its inputs along an axis (the other axes must agree).",
        use_cases=(MERGE_USE, "Join the features of several branches (Inception, U-Net skips).")),
    LayerDecl(
        name="Dot", layer=L.Dot, ports="merge", ranks=(2, None), weights=False, args=("axes", "normalize"),
        defaults={"axes": "1"},
        description="The dot product of two inputs along axes, per sample (Keras' batch_dot); x3 and x4 "
                    "stay unwired.",
        use_cases=("Similarity scores between two embeddings (normalize: cosine similarity).",)),
    # ------------------------------------------------------------------ convolution
    *[LayerDecl(
        name=f"Conv{d}D", layer=getattr(L, f"Conv{d}D"), ranks=(d + 2, d + 2),
        args=("filters", "kernel_size", "strides", ("padding", "causal_padding") if d == 1 else "padding",
              "dilation_rate", "groups", "activation", "use_bias") + DENSE_WEIGHTS,
        defaults={"filters": 32, "kernel_size": KERNEL[d]}, x_doc=SPATIAL_X[d],
        description=f"A {d}-D convolution: filters kernels of kernel_size slide over the {AXES[d]} of the input "
                    f"(kernel {KERNEL_LAYOUT[d]}, bias (filters,)), then the activation.",
        use_cases=CONV_USES[d]) for d in (1, 2, 3)],
    *[LayerDecl(
        name=f"Conv{d}DTranspose", layer=getattr(L, f"Conv{d}DTranspose"), ranks=(d + 2, d + 2),
        args=("filters", "kernel_size", "strides", "padding", "output_padding", "dilation_rate", "activation",
              "use_bias") + DENSE_WEIGHTS,
        defaults={"filters": 32, "kernel_size": KERNEL[d]}, x_doc=SPATIAL_X[d],
        description=f"A transposed {d}-D convolution (the gradient of a convolution): it upsamples the "
                    f"{AXES[d]} by the strides.",
        use_cases=("Decoders of autoencoders and U-Nets; GAN generators.",)) for d in (1, 2, 3)],
    *[LayerDecl(
        name=f"DepthwiseConv{d}D", layer=getattr(L, f"DepthwiseConv{d}D"), ranks=(d + 2, d + 2),
        args=("kernel_size", "strides", "padding", "depth_multiplier", "dilation_rate", "activation", "use_bias",
              "depthwise_initializer", "bias_initializer", "depthwise_regularizer", "bias_regularizer",
              "activity_regularizer"),
        defaults={"kernel_size": KERNEL[d]}, x_doc=SPATIAL_X[d],
        description=f"A depthwise {d}-D convolution: each input channel is convolved with its own "
                    f"depth_multiplier kernels (no mixing of channels).",
        use_cases=("MobileNet-style separable blocks (then a 1x1 Conv mixes the channels).",)) for d in (1, 2)],
    *[LayerDecl(
        name=f"SeparableConv{d}D", layer=getattr(L, f"SeparableConv{d}D"), ranks=(d + 2, d + 2),
        args=("filters", "kernel_size", "strides", "padding", "dilation_rate", "depth_multiplier", "activation",
              "use_bias", "depthwise_initializer", "pointwise_initializer", "bias_initializer",
              "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer", "activity_regularizer"),
        defaults={"filters": 32, "kernel_size": KERNEL[d]}, x_doc=SPATIAL_X[d],
        description=f"A depthwise {d}-D convolution followed by a pointwise (1x1) convolution to filters "
                    f"channels: far fewer weights than a plain convolution.",
        use_cases=("Light image models (Xception, MobileNet).",)) for d in (1, 2)],
    # ------------------------------------------------------------------ pooling
    *[LayerDecl(
        name=f"{kind}Pooling{d}D", layer=getattr(L, f"{kind}Pooling{d}D"), ranks=(d + 2, d + 2), weights=False,
        args=("pool_size", ("strides", "pool_strides"), "padding"), x_doc=SPATIAL_X[d],
        description=f"Downsamples the {AXES[d]} by the {kind.lower()} of each pool_size window.",
        use_cases=(f"Between the convolution blocks of a CNN (halving the {AXES[d]} with pool_size 2).",))
      for kind in ("Max", "Average") for d in (1, 2, 3)],
    *[LayerDecl(
        name=f"Global{kind}Pooling{d}D", layer=getattr(L, f"Global{kind}Pooling{d}D"), ranks=(d + 2, d + 2),
        weights=False, args=("keepdims",), x_doc=SPATIAL_X[d],
        description=f"The {kind.lower()} over the {AXES[d]}: one value per channel, (batch, channels).",
        use_cases=("The end of a fully convolutional classifier, before the Dense head.",))
      for kind in ("Max", "Average") for d in (1, 2, 3)],
    # ------------------------------------------------------------------ spatial reshaping
    *[LayerDecl(
        name=f"ZeroPadding{d}D", layer=getattr(L, f"ZeroPadding{d}D"), ranks=(d + 2, d + 2), weights=False,
        args=(("padding", "zero_padding"),), x_doc=SPATIAL_X[d],
        description=f"Adds rows of zeros before and after the {AXES[d]}.",
        use_cases=("Keep a size through a valid convolution; pad to an even size.",)) for d in (1, 2, 3)],
    *[LayerDecl(
        name=f"Cropping{d}D", layer=getattr(L, f"Cropping{d}D"), ranks=(d + 2, d + 2), weights=False,
        args=("cropping",), x_doc=SPATIAL_X[d],
        description=f"Removes values before and after the {AXES[d]}.",
        use_cases=("Match the sizes of a U-Net's skip connection and its upsampled branch.",)) for d in (1, 2, 3)],
    *[LayerDecl(
        name=f"UpSampling{d}D", layer=getattr(L, f"UpSampling{d}D"), ranks=(d + 2, d + 2), weights=False,
        args=("size",) + (("interpolation",) if d == 2 else ()), x_doc=SPATIAL_X[d],
        description=f"Repeats each value size times along the {AXES[d]}"
                    + (" (nearest), or interpolates (bilinear)." if d == 2 else "."),
        use_cases=("Decoders: upsample, then convolve (instead of a transposed convolution).",)) for d in (1, 2, 3)],
    *[LayerDecl(
        name=f"SpatialDropout{d}D", layer=getattr(L, f"SpatialDropout{d}D"), ranks=(d + 2, d + 2), weights=False,
        args=("rate", "seed"), defaults={"rate": 0.5}, x_doc=SPATIAL_X[d],
        description="Drops whole channels (feature maps) while training, scaling the others by 1 / (1 - rate).",
        use_cases=("Regularise convolutional layers, whose neighbouring values are correlated.",))
      for d in (1, 2, 3)],
    # ------------------------------------------------------------------ normalization
    LayerDecl(
        name="BatchNormalization", layer=L.BatchNormalization,
        args=("axis", "momentum", "epsilon", "center", "scale") + NORM_WEIGHTS
        + ("moving_mean_initializer", "moving_variance_initializer"),
        docs={"axis": "the features axis (normalised per feature over the batch); -1: the last."},
        description="Normalises each feature with the batch's mean and variance while training (and their "
                    "moving averages in inference), then scales by gamma and shifts by beta.",
        use_cases=("Faster, steadier training of deep CNNs (Conv -> BatchNormalization -> ReLU).",)),
    LayerDecl(
        name="LayerNormalization", layer=L.LayerNormalization,
        args=("axis", "epsilon", "center", "scale", "rms_scaling") + NORM_WEIGHTS,
        docs={"axis": "the axis (or axes) normalised per sample; -1: the features."},
        description="Normalises each sample over its features (mean 0, variance 1), then scales by gamma and "
                    "shifts by beta; the same in training and inference.",
        use_cases=("Transformers (around attention and feed-forward blocks).", "Recurrent networks.")),
    LayerDecl(
        name="GroupNormalization", layer=L.GroupNormalization,
        args=("groups", "axis", "epsilon", "center", "scale") + NORM_WEIGHTS,
        docs={"groups": "the number of channel groups normalised together (divides the channels).",
              "axis": "the channels axis; -1: the last."},
        description="Normalises each sample over groups of channels, then scales and shifts per channel; "
                    "independent of the batch size.",
        use_cases=("CNNs trained with small batches (detection, segmentation).",)),
    # ------------------------------------------------------------------ recurrent
    LayerDecl(
        name="SimpleRNN", layer=L.SimpleRNN, ranks=(3, 3),
        args=("units", "activation") + RNN_COMMON, defaults={"units": 32},
        outputs=RNN_OUTPUTS_1, output_names=_rnn_ports(1),
        x_doc="a sequence (batch, timesteps, features).",
        description="A fully connected recurrent layer: h_t = activation(x_t @ kernel + h_(t-1) @ "
                    "recurrent_kernel + bias).",
        use_cases=("Short sequences; a baseline before LSTM or GRU.",)),
    LayerDecl(
        name="LSTM", layer=L.LSTM, ranks=(3, 3),
        args=("units", "activation", "recurrent_activation") + RNN_COMMON + ("unit_forget_bias",),
        defaults={"units": 32}, outputs=RNN_OUTPUTS_2, output_names=_rnn_ports(2),
        x_doc="a sequence (batch, timesteps, features).",
        description="Long short-term memory (Hochreiter 1997): gates i, f, c, o control a cell state carried "
                    "along the sequence (kernel (features, 4 units), recurrent_kernel (units, 4 units)).",
        use_cases=("Text classification, time-series forecasting, sequence labelling.",)),
    LayerDecl(
        name="GRU", layer=L.GRU, ranks=(3, 3),
        args=("units", "activation", "recurrent_activation") + RNN_COMMON + ("reset_after",),
        defaults={"units": 32}, outputs=RNN_OUTPUTS_1, output_names=_rnn_ports(1),
        x_doc="a sequence (batch, timesteps, features).",
        description="Gated recurrent unit (Cho et al. 2014): update and reset gates z, r over a hidden state; "
                    "lighter than an LSTM.",
        use_cases=("Sequence models where an LSTM is more than needed.",)),
    # ------------------------------------------------------------------ attention
    LayerDecl(
        name="MultiHeadAttention", layer=L.MultiHeadAttention, ports="attention", ranks=(3, None),
        args=("num_heads", "key_dim", "value_dim", "dropout", "use_bias", ("output_shape", "attention_output_shape"),
              "attention_axes", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
              "seed", "return_attention_scores", "use_causal_mask"),
        defaults={"num_heads": 2, "key_dim": 16},
        docs={"dropout": "the fraction of the attention weights dropped while training."},
        call_args=("return_attention_scores", "use_causal_mask"),
        outputs=((Y, "the attention output (batch, target length, features)."),
                 ("scores", "the attention scores (batch, heads, target length, source length) with "
                  "return_attention_scores; empty otherwise.")),
        output_names=lambda p: (Y, "scores") if p["return_attention_scores"] else (Y,),
        description="Multi-head attention (Vaswani et al. 2017): each head attends from the query to the "
                    "keys and mixes the values; self-attention when query and value are one wire.",
        use_cases=("Transformer encoder and decoder blocks.", "Cross-attention between two sequences.")),
]


# ---------------------------------------------------------------------------- wrappers
_RNN_CLASSES = {"LSTM": L.LSTM, "GRU": L.GRU, "SimpleRNN": L.SimpleRNN}


def _bidirectional(kwargs: dict, values: dict):
    kwargs = dict(kwargs)
    name, merge_mode, kind = kwargs.pop("name"), kwargs.pop("merge_mode"), kwargs.pop("layer")
    trainable, dtype = kwargs.pop("trainable"), kwargs["dtype"]
    if kind == "SimpleRNN":
        kwargs.pop("recurrent_activation")
    inner = _RNN_CLASSES[kind](name=snake_case(kind), **kwargs)
    return L.Bidirectional(inner, merge_mode=merge_mode, name=name, trainable=trainable, dtype=dtype)


def _bidirectional_ports(params) -> tuple[str, ...]:
    names = [Y] + (["y_backward"] if params["merge_mode"] == "none" else [])
    if params["return_state"]:
        cell = params["layer"] == "LSTM"
        names += ["forward_h"] + (["forward_c"] if cell else []) + ["backward_h"] + (["backward_c"] if cell else [])
    return tuple(names)


def _time_distributed(kwargs: dict, values: dict):
    """TimeDistributed over the one layer the ``layer`` wire ends with (a copy, named after it)."""
    wire = values.get("layer")
    nodes = walk_calls([wire]).nodes if wire is not None else []
    if len(nodes) != 2 or not nodes[0].is_input or not nodes[1].single_input or not nodes[1].single_output:
        raise HaibalValueError("input 'layer' takes the output of ONE layer node fed by its own Input (the "
                               "shape of one time step); wrap longer chains step by step")
    inner = nodes[1].layer
    config = inner.get_config()
    return L.TimeDistributed(type(inner).from_config(config), **kwargs)


DECLARATIONS += [
    LayerDecl(
        name="Bidirectional", layer=L.Bidirectional, ranks=(3, 3), defaults_from=L.LSTM,
        args=(("layer", "recurrent_layer"), "merge_mode", "units", "activation", "recurrent_activation",
              "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer", "dropout", "recurrent_dropout", "return_sequences",
              "return_state"),
        defaults={"layer": "LSTM", "merge_mode": "concat", "units": 32},
        make=_bidirectional, output_names=_bidirectional_ports,
        outputs=((Y, "the merged output of both directions (the forward one with merge_mode none)."),
                 ("y_backward", "the backward output (merge_mode none); empty otherwise."),
                 ("forward_h", STATE_DOC.format("forward hidden")),
                 ("forward_c", STATE_DOC.format("forward cell (LSTM)")),
                 ("backward_h", STATE_DOC.format("backward hidden")),
                 ("backward_c", STATE_DOC.format("backward cell (LSTM)"))),
        x_doc="a sequence (batch, timesteps, features).",
        description="Runs a recurrent layer (LSTM, GRU or SimpleRNN, with the parameters below) forwards and "
                    "a copy backwards over the sequence and merges their outputs.",
        use_cases=("Sequence labelling and text classification, where each step sees both contexts.",)),
    LayerDecl(
        name="TimeDistributed", layer=L.TimeDistributed, ports="wrapper", ranks=(3, None),
        make=_time_distributed,
        x_doc="a sequence (batch, timesteps, ...): the layer is applied to every step.",
        description="Applies one layer to every time step of its input: wire a layer node fed by an Input of "
                    "one step's shape into 'layer' (e.g. Input 28, 28, 1 -> Conv2D), and the sequence of "
                    "steps into x.",
        use_cases=("Per-frame convolutions of a video before a recurrent layer.",)),
]


NODES: dict[str, type[Node]] = {}
for _decl in DECLARATIONS:
    NODES[_decl.name] = layer_node(_decl, category=CATEGORY, module=__name__)


# ---------------------------------------------------------------------------- Input
_INPUT_ARGS = (("shape", ARGS["shape"]), ("batch_size", ARGS["batch_size"]), ("dtype", ARGS["input_dtype"]))


def _input_shape(params) -> tuple:
    dims = ARGS["shape"].value(params["shape"])
    return (params["batch_size"],) + tuple(dims)


def _input(node: Node, values: dict) -> dict:
    p = node.values
    shape = ARGS["shape"].value(p["shape"])
    tensor = L.Input(shape=shape, batch_size=p["batch_size"], dtype=p["dtype"],
                     name=layer_name(node.name, "Input", "InputLayer"))
    return {Y: tensor}


def _input_type(wired, params) -> PortType:
    if params is None:
        return PortType("model")
    return PortType.with_shape("model", _input_shape(params))


Input = declare_node(
    type_id="haibal.layers.Input", category=CATEGORY, display_name="Input", module=__name__, class_name="InputNode",
    description="Where a model's data enters: a model wire of shape (batch, *shape). Its name becomes the "
                "model input's name; wire it into the first layer.",
    use_cases=("The start of every model (an image: 28, 28, 1; token ids: 20 with dtype int32).",),
    outputs=(Port(Y, PortType("model"), "the model input (a model wire)."),),
    params=tuple(arg.param_shown(name, {"shape": "28, 28, 1", "batch_size": None, "dtype": "float32"}[name])
                 for name, arg in _INPUT_ARGS),
    instances=(Instance("input", {}, {Y: _input_type}, _input, "makes the model input"),))
NODES["Input"] = Input
