"""Small musical examples shared by the tests."""

import numpy as np

from musegen_widgets import encoding

GOOD_TOKENS = np.array(
    [encoding.REST, encoding.HOLD, encoding.HOLD, encoding.HOLD]
    + [encoding.pitch_to_token(67)]
    + [encoding.HOLD] * 3
    + [encoding.pitch_to_token(69), encoding.HOLD, encoding.pitch_to_token(71), encoding.HOLD]
    + [encoding.pitch_to_token(72)]
    + [encoding.HOLD] * 3
)
