"""The line model: a convolutional network over the width of a line, read with CTC.

Input: lines (N, 32, W) with values 0..255 (``preprocess.prepare_line``), W a multiple
of 4. Output: logits (N, W / 2, NUM_LINE_CLASSES), one column of class scores per 2 pixels
of the line: blank, space, a..z. No cut between letters is ever chosen: CTC sums over every
alignment of the text to the columns, so letters that touch or overlap are read as they come.

The feature extractor pools the height away (32 -> 1) but the width only by 2, so even a
narrow letter (an i, 4 px wide) spans two columns and "ll" can be told from "l". Context
across letters comes from dilated 1-D convolutions over the columns (about 4 letters either
side), not a recurrent layer: it exports to ONNX as plain convolutions and runs in
microseconds per letter.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras
from keras import layers

from ..labels import NUM_LINE_CLASSES
from ..reading.preprocess import LINE_HEIGHT
from .model import BN_MOMENTUM

LINE_STRIDE = 2  # line pixels per output column
LOGITS_LAYER = "line_logits"
MODEL_NAME = "line_ctc"


def _conv(x, filters: int, kernel=3):
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return layers.ReLU()(x)


def build_line_model(width: int = 64, context: int | None = None, dropout: float = 0.2) -> keras.Model:
    """``width``: the 2-D convolutions have width/4 to 1.5 x width channels; ``context``: features per
    column (default 2.5 x width)."""
    context = context or width * 5 // 2
    lines = keras.Input(shape=(LINE_HEIGHT, None), name="lines")
    x = layers.Rescaling(1.0 / 255.0)(layers.Reshape((LINE_HEIGHT, -1, 1))(lines))
    x = _conv(x, width // 4)
    x = layers.MaxPooling2D((2, 2))(x)  # 16 x W/2
    x = _conv(x, width // 2)
    x = layers.MaxPooling2D((2, 1))(x)  # 8
    x = _conv(x, width)
    x = _conv(x, width)
    x = layers.MaxPooling2D((2, 1))(x)  # 4
    x = _conv(x, width * 3 // 2)
    x = layers.Conv2D(context, (4, 1), padding="valid", use_bias=False)(x)  # 1 x W/2: the column's features
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((-1, context))(x)  # (N, W/2, context)
    for dilation in (1, 2, 4, 8):
        y = layers.Conv1D(context, 3, padding="same", dilation_rate=dilation, use_bias=False)(x)
        y = layers.BatchNormalization(momentum=BN_MOMENTUM)(y)
        y = layers.ReLU()(y)
        x = layers.Add()([x, layers.SpatialDropout1D(dropout / 2)(y)])
    x = layers.Dropout(dropout)(x)
    logits = layers.Dense(NUM_LINE_CLASSES, name=LOGITS_LAYER)(x)
    return keras.Model(lines, logits, name=MODEL_NAME)


def is_line_model(path: str | Path) -> bool:
    """Whether a .keras file holds a line model, told from the file itself (its config), so a
    model copied away from its run directory is still recognized."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False
    return isinstance(config, dict) and config.get("config", {}).get("name") == MODEL_NAME


def compile_line_model(model: keras.Model, learning_rate: float, steps: int) -> keras.Model:
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, alpha=0.02,
                                                      warmup_target=None)
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=5.0), loss=keras.losses.CTC())
    return model
