"""``keras.src`` helpers that are not public Keras API: not claimed."""

from .not_claimed import refuse

squeeze_or_expand_to_same_rank = refuse("internal", "keras.src.losses.loss.squeeze_or_expand_to_same_rank")
