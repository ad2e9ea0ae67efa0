"""Activation nodes: HAIBAL's Activations palette, generated from the table below.

Each entry: the HAIBAL / Keras class-style name, the function in ``haibal_py.activations``,
its parameters, a description and use cases; ``elementwise_node`` builds the node
(``scalar`` and ``array`` instances; softmax-like ones, which need an axis, only ``array``).
Type ids are ``haibal.activations.<Name>``.
"""

from __future__ import annotations

from haibal_py import activations as act
from haibal_py.node import Param
from haibal_py.node_factory import elementwise_node

CATEGORY = "Activations"
SOFTMAX_AXIS = Param("axis", "int", -1, "the axis along which the values are normalised.")

# (name, function, parameters, description, use cases, has a scalar instance)
DECLARATIONS = [
    ("ReLU", act.relu,
     (Param("negative_slope", "float", 0.0, "slope for values below the threshold."),
      Param("max_value", "float", None, "the largest value returned (none: no cap).", optional=True),
      Param("threshold", "float", 0.0, "values at or below it are damped (or set to 0).")),
     "Applies the rectified linear unit: max(x, 0); with threshold, max_value and negative_slope as Keras.",
     ("Hidden layers of almost any network: fast, and does not saturate for positive inputs.",), True),
    ("LeakyReLU", act.leaky_relu,
     (Param("negative_slope", "float", 0.2, "slope for negative inputs."),),
     "Applies the leaky ReLU: x if x > 0, else negative_slope * x.",
     ("Hidden layers where dead ReLU units are a problem (GAN discriminators).",), True),
    ("ReLU6", act.relu6, (), "Applies ReLU capped at 6: min(max(x, 0), 6).",
     ("Mobile networks (MobileNet) meant for low-precision inference.",), True),
    ("ThresholdedReLU", act.thresholded_relu,
     (Param("theta", "float", 1.0, "values at or below it become 0."),),
     "Applies the thresholded ReLU: x if x > theta, else 0.",
     ("Sparse activations that ignore small inputs.",), True),
    ("ELU", act.elu, (Param("alpha", "float", 1.0, "scale of the negative part."),),
     "Applies the exponential linear unit: x if x > 0, else alpha * (exp(x) - 1).",
     ("Hidden layers whose mean activation should stay close to zero.",), True),
    ("SELU", act.selu, (),
     "Applies the scaled exponential linear unit: scale * elu(x, alpha), alpha = 1.67326324, scale = 1.05070098.",
     ("Self-normalising networks, with LecunNormal initialisation.",), True),
    ("GELU", act.gelu, (Param("approximate", "bool", False, "use the tanh approximation."),),
     "Applies the Gaussian error linear unit: x * P(X <= x) for a standard normal X.",
     ("Transformers (BERT, GPT) and other modern architectures.",), True),
    ("Sigmoid", act.sigmoid, (), "Applies the sigmoid: 1 / (1 + exp(-x)), in (0, 1).",
     ("Output layer of binary or multi-label classification.", "Gates of LSTM/GRU cells."), True),
    ("HardSigmoid", act.hard_sigmoid, (),
     "Applies the hard sigmoid: 0 below -3, 1 above 3, x / 6 + 0.5 between (Keras 3's relu6(x + 3) / 6).",
     ("A cheap, piecewise linear sigmoid for fast or quantised inference.",), True),
    ("HardSwish", act.hard_silu, (), "Applies the hard swish (hard SiLU): x * hard_sigmoid(x).",
     ("Mobile networks (MobileNetV3).",), True),
    ("SoftMax", act.softmax, (SOFTMAX_AXIS,),
     "Converts values to a probability distribution along axis: exp(x) / sum(exp(x)).",
     ("Output layer of multi-class classification.", "Attention weights."), False),
    ("LogSoftmax", act.log_softmax, (SOFTMAX_AXIS,),
     "Applies the log-softmax along axis: x - log(sum(exp(x))), computed stably.",
     ("Log-probabilities for a negative log-likelihood loss.",), False),
    ("SoftPlus", act.softplus, (), "Applies the softplus: log(exp(x) + 1), a smooth ReLU.",
     ("Outputs that must be positive (rates, standard deviations).",), True),
    ("SoftSign", act.softsign, (), "Applies the softsign: x / (|x| + 1), in (-1, 1).",
     ("A tanh-like activation that saturates more slowly.",), True),
    ("Swish", act.silu, (), "Applies the swish (SiLU): x * sigmoid(x).",
     ("Deep convolutional networks (EfficientNet).",), True),
    ("Mish", act.mish, (), "Applies the mish: x * tanh(softplus(x)).",
     ("Object detectors (YOLOv4) and other deep vision models.",), True),
    ("TanH", act.tanh, (), "Applies the hyperbolic tangent, in (-1, 1).",
     ("Recurrent networks.", "Outputs scaled to [-1, 1], e.g. GAN generators."), True),
    ("Exponential", act.exponential, (), "Applies the exponential: exp(x).",
     ("Outputs that must be positive, such as Poisson rates.",), True),
    ("Linear", act.linear, (), "Passes the values through unchanged (the identity).",
     ("Output layer of regression models.",), True),
    ("LogSigmoid", act.log_sigmoid, (), "Applies log(sigmoid(x)) = -softplus(-x), computed stably.",
     ("Log-probabilities of binary outcomes.",), True),
]

NODES = {}
for _name, _fn, _params, _desc, _uses, _scalar in DECLARATIONS:
    NODES[_name] = elementwise_node(
        type_id=f"haibal.activations.{_name}",
        category=CATEGORY,
        display_name=_name,
        class_name=f"{_name}Node",
        fn=_fn,
        params=_params,
        description=_desc,
        use_cases=_uses,
        x_doc="float array (or number), the input values.",
        result_doc="float array, the activation of each value, same shape as x.",
        scalar=_scalar,
    )
