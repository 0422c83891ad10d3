"""The letter classifier: the seed notebook's CNN, in pure Keras 3.

Raw uint8 images (N, 28, 28) go in; scaling to [0, 1] happens inside the model, so every
caller (training, export, ONNX serving) feeds the same thing. The last two layers are kept
apart, ``logits`` then ``probabilities``, so that export can serve logits for temperature
scaling while training keeps the seed's softmax output.
"""

from __future__ import annotations

from . import keras_env  # noqa: F401  (before keras)
import keras
from keras import layers

from .labels import IMAGE_SIZE, NUM_CLASSES

INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE)
LOGITS_LAYER = "logits"
# Keras defaults to 0.99; at 0.9 the moving statistics catch up within an epoch, so validation
# scores mean something from the first epoch on, also for small datasets (at 0.99 a 1,000-image
# run scores chance on validation while training accuracy is above 80%).
BN_MOMENTUM = 0.9


def _conv_block(x, filters: int, convs: int, dropout: float):
    for _ in range(convs):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.MaxPooling2D(2)(x)
    return layers.Dropout(dropout)(x)


def build_seed_model() -> keras.Model:
    """Conv2D/BatchNormalization/MaxPooling2D/Dropout x3, Flatten, Dense, 26-way softmax."""
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Reshape((*INPUT_SHAPE, 1))(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    x = _conv_block(x, 32, convs=2, dropout=0.25)
    x = _conv_block(x, 64, convs=2, dropout=0.25)
    x = _conv_block(x, 128, convs=1, dropout=0.25)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.Dropout(0.5)(x)
    logits = layers.Dense(NUM_CLASSES, name=LOGITS_LAYER)(x)
    outputs = layers.Activation("softmax", name="probabilities")(logits)
    return keras.Model(inputs, outputs, name="seed_cnn")


def compile_model(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def logits_model(model: keras.Model) -> keras.Model:
    """The same network without its softmax: what export serves."""
    return keras.Model(model.inputs, model.get_layer(LOGITS_LAYER).output, name=model.name + "_logits")
