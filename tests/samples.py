"""Small musical examples shared by the tests."""

import datetime

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


def upload(name: str, content: bytes) -> dict:
    """What ipywidgets' FileUpload holds after a user picks a file."""
    return {
        "name": name,
        "type": "",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    }
