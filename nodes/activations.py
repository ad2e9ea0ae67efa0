"""Activation nodes: HAIBAL's Activations palette, generated from the table below.

Each entry: the HAIBAL / Keras class-style name, the function in ``haibal_py.activations``,
its parameters, a description and use cases; ``elementwise_node`` builds the node
(``scalar`` and ``array`` instances; softmax-like ones, which need an axis, only ``array``).
Type ids are ``haibal.activations.<Name>``.
"""

from __future__ import annotations

from dataclasses import replace

from haibal_py import activations as act
from haibal_py.node import Param
from haibal_py.node.factory import ElementwiseDecl, elementwise_node

CATEGORY = "Activations"
SOFTMAX_AXIS = Param("axis", "int", -1, "the axis along which the values are normalised.")

DECLARATIONS = [
    ElementwiseDecl(
        name="ReLU",
        fn=act.relu,
        params=(Param("negative_slope", "float", 0.0, "slope for values below the threshold."),
            Param("max_value", "float", None, "the largest value returned (none: no cap).", optional=True),
            Param("threshold", "float", 0.0, "values at or below it are damped (or set to 0).")),
        description="Applies the rectified linear unit: max(x, 0); with threshold, max_value and negative_slope as Keras.",
        use_cases=("Hidden layers of almost any network: fast, and does not saturate for positive inputs.",)),
    ElementwiseDecl(
        name="LeakyReLU",
        fn=act.leaky_relu,
        params=(Param("negative_slope", "float", 0.2, "slope for negative inputs."),),
        description="Applies the leaky ReLU: x if x > 0, else negative_slope * x.",
        use_cases=("Hidden layers where dead ReLU units are a problem (GAN discriminators).",)),
    ElementwiseDecl(
        name="ReLU6",
        fn=act.relu6,
        description="Applies ReLU capped at 6: min(max(x, 0), 6).",
        use_cases=("Mobile networks (MobileNet) meant for low-precision inference.",)),
    ElementwiseDecl(
        name="ThresholdedReLU",
        fn=act.thresholded_relu,
        params=(Param("theta", "float", 1.0, "values at or below it become 0."),),
        description="Applies the thresholded ReLU: x if x > theta, else 0.",
        use_cases=("Sparse activations that ignore small inputs.",)),
    ElementwiseDecl(
        name="ELU",
        fn=act.elu,
        params=(Param("alpha", "float", 1.0, "scale of the negative part."),),
        description="Applies the exponential linear unit: x if x > 0, else alpha * (exp(x) - 1).",
        use_cases=("Hidden layers whose mean activation should stay close to zero.",)),
    ElementwiseDecl(
        name="SELU",
        fn=act.selu,
        description="Applies the scaled exponential linear unit: scale * elu(x, alpha), alpha = 1.67326324, scale = 1.05070098.",
        use_cases=("Self-normalising networks, with LecunNormal initialisation.",)),
    ElementwiseDecl(
        name="GELU",
        fn=act.gelu,
        params=(Param("approximate", "bool", False, "use the tanh approximation."),),
        description="Applies the Gaussian error linear unit: x * P(X <= x) for a standard normal X.",
        use_cases=("Transformers (BERT, GPT) and other modern architectures.",)),
    ElementwiseDecl(
        name="Sigmoid",
        fn=act.sigmoid,
        description="Applies the sigmoid: 1 / (1 + exp(-x)), in (0, 1).",
        use_cases=("Output layer of binary or multi-label classification.", "Gates of LSTM/GRU cells.")),
    ElementwiseDecl(
        name="HardSigmoid",
        fn=act.hard_sigmoid,
        description="Applies the hard sigmoid: 0 below -3, 1 above 3, x / 6 + 0.5 between (Keras 3's relu6(x + 3) / 6).",
        use_cases=("A cheap, piecewise linear sigmoid for fast or quantised inference.",)),
    ElementwiseDecl(
        name="HardSwish",
        fn=act.hard_silu,
        description="Applies the hard swish (hard SiLU): x * hard_sigmoid(x).",
        use_cases=("Mobile networks (MobileNetV3).",)),
    ElementwiseDecl(
        name="SoftMax",
        fn=act.softmax,
        params=(SOFTMAX_AXIS,),
        description="Converts values to a probability distribution along axis: exp(x) / sum(exp(x)).",
        use_cases=("Output layer of multi-class classification.", "Attention weights."),
        scalar=False),
    ElementwiseDecl(
        name="LogSoftmax",
        fn=act.log_softmax,
        params=(SOFTMAX_AXIS,),
        description="Applies the log-softmax along axis: x - log(sum(exp(x))), computed stably.",
        use_cases=("Log-probabilities for a negative log-likelihood loss.",),
        scalar=False),
    ElementwiseDecl(
        name="SoftPlus",
        fn=act.softplus,
        description="Applies the softplus: log(exp(x) + 1), a smooth ReLU.",
        use_cases=("Outputs that must be positive (rates, standard deviations).",)),
    ElementwiseDecl(
        name="SoftSign",
        fn=act.softsign,
        description="Applies the softsign: x / (|x| + 1), in (-1, 1).",
        use_cases=("A tanh-like activation that saturates more slowly.",)),
    ElementwiseDecl(
        name="Swish",
        fn=act.silu,
        description="Applies the swish (SiLU): x * sigmoid(x).",
        use_cases=("Deep convolutional networks (EfficientNet).",)),
    ElementwiseDecl(
        name="Mish",
        fn=act.mish,
        description="Applies the mish: x * tanh(softplus(x)).",
        use_cases=("Object detectors (YOLOv4) and other deep vision models.",)),
    ElementwiseDecl(
        name="TanH",
        fn=act.tanh,
        description="Applies the hyperbolic tangent, in (-1, 1).",
        use_cases=("Recurrent networks.", "Outputs scaled to [-1, 1], e.g. GAN generators.")),
    ElementwiseDecl(
        name="Exponential",
        fn=act.exponential,
        description="Applies the exponential: exp(x).",
        use_cases=("Outputs that must be positive, such as Poisson rates.",)),
    ElementwiseDecl(
        name="Linear",
        fn=act.linear,
        description="Passes the values through unchanged (the identity).",
        use_cases=("Output layer of regression models.",)),
    ElementwiseDecl(
        name="LogSigmoid",
        fn=act.log_sigmoid,
        description="Applies log(sigmoid(x)) = -softplus(-x), computed stably.",
        use_cases=("Log-probabilities of binary outcomes.",)),
    ElementwiseDecl(
        name="CELU",
        fn=act.celu,
        params=(Param("alpha", "float", 1.0, "scale of the negative part (not 0).", minimum=1e-12),),
        description="Applies the continuously differentiable ELU: max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1).",
        use_cases=("An ELU whose derivative is continuous at 0 for any alpha.",)),
    ElementwiseDecl(
        name="GLU",
        fn=act.glu,
        params=(Param("axis", "int", -1, "the axis split into two halves (its size must be even)."),),
        description="Applies the gated linear unit: a * sigmoid(b), a and b the two halves of x along axis; the "
                    "result has half that size.",
        use_cases=("Gated feed-forward blocks of language models.",),
        scalar=False),
    ElementwiseDecl(
        name="HardShrink",
        fn=act.hard_shrink,
        params=(Param("threshold", "float", 0.5, "values with |x| at or below it become 0.", minimum=0.0),),
        description="Applies the hard shrinkage: x where |x| > threshold, else 0.",
        use_cases=("Sparse codes: small values set to zero.",)),
    ElementwiseDecl(
        name="HardTanH",
        fn=act.hard_tanh,
        description="Applies the hard hyperbolic tangent: clip(x, -1, 1).",
        use_cases=("A cheap, piecewise linear tanh.",)),
    ElementwiseDecl(
        name="SoftShrink",
        fn=act.soft_shrink,
        params=(Param("threshold", "float", 0.5, "values within [-threshold, threshold] become 0, others move "
                      "towards 0 by it.", minimum=0.0),),
        description="Applies the soft shrinkage: x - threshold above threshold, x + threshold below -threshold, "
                    "else 0.",
        use_cases=("Denoising and sparse coding (the proximal operator of the L1 norm).",)),
    ElementwiseDecl(
        name="TanhShrink",
        fn=act.tanh_shrink,
        description="Applies x - tanh(x).",
        use_cases=("Sparse coding networks.",)),
    ElementwiseDecl(
        name="SparsePlus",
        fn=act.sparse_plus,
        description="Applies a smooth ReLU: 0 for x <= -1, (x + 1)^2 / 4 between -1 and 1, x for x >= 1.",
        use_cases=("A ReLU with a continuous derivative and exact zeros.",)),
    ElementwiseDecl(
        name="SparseSigmoid",
        fn=act.sparse_sigmoid,
        description="Applies a piecewise linear sigmoid: 0 for x <= -1, (x + 1) / 2 between -1 and 1, 1 for x >= 1.",
        use_cases=("Gates that can be exactly 0 or 1.",)),
    ElementwiseDecl(
        name="Sparsemax",
        fn=act.sparsemax,
        params=(SOFTMAX_AXIS,),
        description="Applies sparsemax along axis: the Euclidean projection onto the probability simplex, which "
                    "sums to 1 and is exactly 0 for small inputs.",
        use_cases=("Sparse attention weights.", "Multi-label outputs with exact zeros."),
        scalar=False),
    ElementwiseDecl(
        name="Squareplus",
        fn=act.squareplus,
        params=(Param("b", "float", 4.0, "smoothness (b >= 0; 0 gives the ReLU).", minimum=0.0),),
        description="Applies squareplus: (x + sqrt(x^2 + b)) / 2, a smooth ReLU made of square roots.",
        use_cases=("A softplus-like activation that is cheap to compute.",)),
    ElementwiseDecl(
        name="Threshold",
        fn=act.threshold,
        params=(Param("threshold", "float", 0.0, "values at or below it are replaced."),
                Param("default_value", "float", 0.0, "the value they are replaced with.")),
        description="Applies a threshold: x where x > threshold, else default_value.",
        use_cases=("Binarising or clipping low responses.",)),
]

NODES = {}
for _decl in DECLARATIONS:
    NODES[_decl.name] = elementwise_node(
        replace(_decl, x_doc="float array (or number), the input values.",
                result_doc="float array, the activation of each value, same shape as x."),
        category=CATEGORY, module=__name__)
