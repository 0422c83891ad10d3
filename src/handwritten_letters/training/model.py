"""The letter classifier: the seed notebook's CNN, in pure Keras 3.

Raw uint8 images (N, 28, 28) go in; scaling to [0, 1] happens inside the model, so every
caller (training, export, ONNX serving) feeds the same thing. The last two layers are kept
apart, ``logits`` then ``probabilities``, so that export can serve logits for temperature
scaling while training keeps the seed's softmax output.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from ..labels import IMAGE_SIZE, NUM_CASED_CLASSES, NUM_CLASSES

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


# (filters, convs) per block. "seed" is the notebook's; "deep" adds a conv to the last block:
# twice the seed's compute, still far inside the 1 ms / 5 MB serving budget. "wide" is "deep" with
# 1.5x the channels: 1.1 M parameters, 0.29 vs 0.17 ms a letter in int8 (trained nets, measured).
ARCHITECTURES: dict[str, list[tuple[int, int]]] = {
    "seed": [(32, 2), (64, 2), (128, 1)],
    "deep": [(32, 2), (64, 2), (128, 2)],
    "wide": [(48, 2), (96, 2), (192, 2)],
}


@keras.saving.register_keras_serializable(package="handwritten_letters")
class RandomStrokeWidth(layers.Layer):
    """Training-time only: thin (erode) or thicken (dilate) the strokes of some images.

    People write with pens of every width; EMNIST's strokes are fairly uniform.
    """

    def __init__(self, probability: float = 0.5, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.probability = probability
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        dilated = keras.ops.max_pool(images, 2, strides=1, padding="same")
        eroded = -keras.ops.max_pool(-images, 2, strides=1, padding="same")
        draw = keras.random.uniform((keras.ops.shape(images)[0], 1, 1, 1), seed=self.seed_generator)
        half = self.probability / 2
        return keras.ops.where(draw < half, eroded, keras.ops.where(draw < self.probability, dilated, images))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "probability": self.probability, "seed": self.seed}


def _bilinear_sample(images, source_y, source_x):
    """``images[b, source_y, source_x]`` with bilinear weights, zero outside the image.

    ``keras.ops.image.map_coordinates`` would do this, but on the TensorFlow backend it needs a
    static batch size, which ``fit`` does not give.
    """
    ops = keras.ops
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    flat = ops.reshape(images, (-1,))
    offsets = (ops.arange(batch) * (height * width))[:, None, None]
    y0, x0 = ops.floor(source_y), ops.floor(source_x)
    result = 0.0
    for dy in (0, 1):
        for dx in (0, 1):
            y, x = y0 + dy, x0 + dx
            weight = (1.0 - ops.abs(source_y - y)) * (1.0 - ops.abs(source_x - x))
            inside = (y >= 0) & (y <= height - 1) & (x >= 0) & (x <= width - 1)
            index = offsets + ops.cast(ops.clip(y, 0, height - 1), "int32") * width + ops.cast(
                ops.clip(x, 0, width - 1), "int32")
            result = result + ops.where(inside, weight * ops.take(flat, index), 0.0)
    return result


@keras.saving.register_keras_serializable(package="handwritten_letters")
class RandomHandDistortion(layers.Layer):
    """Training-time only: a random affine map (rotation, shear, scale, shift) plus a smooth
    elastic field, applied to every image with a single bilinear resampling.

    Written here instead of chaining Keras' RandomRotation/RandomZoom/RandomTranslation/
    RandomElasticTransform: in Keras 3.15, RandomElasticTransform run inside ``fit`` (graph mode)
    replaces some images of a batch by another image of the same batch, so about a quarter of
    the training labels became wrong (measured: 72% training accuracy under a frozen model that
    scores 95% on the same images); and three chained resamplings blur 28-pixel letters.
    """

    def __init__(self, rotation: float = 10.0, shear: float = 0.15, zoom: float = 0.1, shift: float = 0.06,
                 elastic: float = 0.8, elastic_grid: int = 4, aspect: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rotation = rotation  # degrees, either way
        self.shear = shear  # horizontal shear factor, either way
        self.zoom = zoom  # relative scale change, either way
        self.shift = shift  # fraction of the image side, either way
        self.elastic = elastic  # standard deviation of the elastic displacement, pixels
        self.elastic_grid = elastic_grid  # the field is drawn on a coarse grid, so it is smooth
        # height/width change, either way (people draw letters taller or wider than NIST's writers did)
        self.aspect = aspect
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _uniform(self, batch, limit):
        return keras.random.uniform((batch, 1, 1), -limit, limit, seed=self.seed_generator)

    def call(self, images, training=None):
        if not training:
            return images
        ops = keras.ops
        batch = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        angle = self._uniform(batch, math.radians(self.rotation))
        shear = self._uniform(batch, self.shear)
        scale = 1.0 + self._uniform(batch, self.zoom)
        shift_y = self._uniform(batch, self.shift * height)
        shift_x = self._uniform(batch, self.shift * width)
        # the output pixel (y, x) samples the input at A @ (y, x) about the centre, shifted
        cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
        rows = ops.arange(height, dtype="float32")[None, :, None] - (height - 1) / 2
        cols = ops.arange(width, dtype="float32")[None, None, :] - (width - 1) / 2
        if self.aspect:
            stretch = ops.exp(self._uniform(batch, math.log1p(self.aspect)))  # taller by this, narrower by as much
            rows, cols = rows / ops.sqrt(stretch), cols * ops.sqrt(stretch)
        source_y = cos * rows - sin * (cols + shear * rows) + (height - 1) / 2 + shift_y
        source_x = sin * rows + cos * (cols + shear * rows) + (width - 1) / 2 + shift_x
        if self.elastic:
            coarse = keras.random.normal((batch, self.elastic_grid, self.elastic_grid, 2), stddev=self.elastic,
                                         seed=self.seed_generator)
            field = ops.image.resize(coarse, (height, width), interpolation="bicubic")
            source_y = source_y + field[..., 0]
            source_x = source_x + field[..., 1]
        return _bilinear_sample(images[..., 0], source_y, source_x)[..., None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "shear": self.shear, "zoom": self.zoom,
                "shift": self.shift, "elastic": self.elastic, "elastic_grid": self.elastic_grid, "aspect": self.aspect,
                "seed": self.seed}


def augmentation(aspect: float = 0.0) -> keras.Sequential:
    """On-the-fly distortions of [0, 1] images, active only in training (identity at inference)."""
    return keras.Sequential([RandomHandDistortion(aspect=aspect), RandomStrokeWidth(0.5)], name="augmentation")


@keras.saving.register_keras_serializable(package="handwritten_letters")
class SparseCategoricalCrossentropyWithSmoothing(keras.losses.Loss):
    """Cross-entropy on integer labels with label smoothing (Szegedy et al., 2016)."""

    def __init__(self, smoothing: float = 0.1, name: str = "smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        classes = keras.ops.shape(y_pred)[-1]
        one_hot = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"), classes)
        return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=self.smoothing)

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


# ----------------------------------------------------------------------------- case
# A cased network's 52 outputs are (letter, case) pairs; its training targets say what is known of
# each letter: target = letter + 26 * case, case 0 unknown (EMNIST Letters), 1 lower, 2 upper. A
# letter of unknown case is learned as its letter (the two cases' probabilities summed), so every
# EMNIST image still teaches the 26 letters.


def _letter_and_case(y_true, probabilities):
    target = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
    letter, case = target % NUM_CLASSES, target // NUM_CLASSES
    lower, upper = probabilities[:, :NUM_CLASSES], probabilities[:, NUM_CLASSES:]
    return letter, case, lower, upper


@keras.saving.register_keras_serializable(package="handwritten_letters")
class CasedLetterLoss(keras.losses.Loss):
    """Cross-entropy of the letter and, where known, its case, on a cased network's 52 outputs,
    with label smoothing over the 26 letters."""

    def __init__(self, smoothing: float = 0.0, name: str = "cased_letter_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        ops = keras.ops
        letter, case, lower, upper = _letter_and_case(y_true, y_pred)
        one_hot = ops.one_hot(letter, NUM_CLASSES)
        letters = lower + upper
        case = case[:, None]
        chosen = ops.where(case == 1, lower, ops.where(case == 2, upper, letters))
        probability = ops.sum(chosen * one_hot, axis=-1)
        loss = -ops.log(ops.clip(probability, 1e-7, 1.0))
        if self.smoothing:
            spread = -ops.mean(ops.log(ops.clip(letters, 1e-7, 1.0)), axis=-1)
            loss = (1.0 - self.smoothing) * loss + self.smoothing * spread
        return loss

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


@keras.saving.register_keras_serializable(package="handwritten_letters")
def letter_accuracy(y_true, y_pred):
    """Share of letters right whatever their case, on a cased network's outputs and targets."""
    letter, _, lower, upper = _letter_and_case(y_true, y_pred)
    return keras.ops.cast(keras.ops.argmax(lower + upper, axis=-1) == letter, "float32")


@keras.saving.register_keras_serializable(package="handwritten_letters")
class LetterAndCase(layers.Layer):
    """Serving: a cased network's 52 logits as the 26 letters' logits (each the log of its two
    cases' summed exponentials, so softmax gives the letters' probabilities exactly) and each
    letter's log-odds of upper against lower case."""

    def call(self, logits):
        lower, upper = logits[:, :NUM_CLASSES], logits[:, NUM_CLASSES:]
        high = keras.ops.maximum(lower, upper)
        letters = high + keras.ops.log(keras.ops.exp(lower - high) + keras.ops.exp(upper - high))
        return letters, upper - lower

    def compute_output_shape(self, input_shape):
        return (input_shape[0], NUM_CLASSES), (input_shape[0], NUM_CLASSES)


@keras.saving.register_keras_serializable(package="handwritten_letters")
class LettersTimesCase(layers.Layer):
    """A case head beside the letters: 26 letter logits and one upper-case logit, given out as the
    52 (letter, case) log-probabilities log P(letter) + log P(case), so that everything that reads
    a cased network's 52 outputs (its loss, LetterAndCase, export, serving) reads this one alike.
    One weight matrix (letters and case side by side), so a 26-letter network can start it."""

    def __init__(self, name: str = LOGITS_LAYER, **kwargs):
        super().__init__(name=name, **kwargs)
        self.units = NUM_CASED_CLASSES

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], NUM_CLASSES + 1), initializer="glorot_uniform",
                                      name="kernel")
        self.bias = self.add_weight(shape=(NUM_CLASSES + 1,), initializer="zeros", name="bias")

    def call(self, features):
        ops = keras.ops
        scores = ops.matmul(features, self.kernel) + self.bias
        letters = ops.log_softmax(scores[:, :NUM_CLASSES], axis=-1)
        upper = scores[:, NUM_CLASSES:]
        return ops.concatenate([letters + ops.log_sigmoid(-upper), letters + ops.log_sigmoid(upper)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], NUM_CASED_CLASSES)


def is_cased(model: keras.Model) -> bool:
    return model.get_layer(LOGITS_LAYER).units == NUM_CASED_CLASSES


def build_model(architecture: str = "seed", augment: bool = False, aspect: float = 0.0,
                cased: bool = False, case_head: bool = False) -> keras.Model:
    """Conv2D/BatchNormalization/MaxPooling2D/Dropout blocks, Flatten, Dense, softmax over the 26
    letters (or, ``cased``, over the 52 letters of both cases: one 52-way layer, or with
    ``case_head`` the 26 letters and a case head, LettersTimesCase)."""
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Reshape((*INPUT_SHAPE, 1))(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    if augment:
        x = augmentation(aspect)(x)
    for filters, convs in ARCHITECTURES[architecture]:
        x = _conv_block(x, filters, convs=convs, dropout=0.25)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.Dropout(0.5)(x)
    if cased and case_head:
        logits = LettersTimesCase()(x)
    else:
        logits = layers.Dense(NUM_CASED_CLASSES if cased else NUM_CLASSES, name=LOGITS_LAYER)(x)
    outputs = layers.Activation("softmax", name="probabilities")(logits)
    return keras.Model(inputs, outputs, name=f"{architecture}_cnn")


def logits_model(model: keras.Model) -> keras.Model:
    """The trained network for serving: no augmentation, no softmax (export serves logits); a
    cased network serves three outputs: the letters' logits, their case log-odds (LetterAndCase),
    and the features the last layer reads (for writers' profiles).

    The networks here are a single chain of layers, so the chain is re-applied to a new input,
    sharing the trained layers and skipping the training-only augmentation block.
    """
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = embedding = inputs
    for layer in model.layers[1:]:
        if layer.name == "augmentation":
            continue
        if layer.name == LOGITS_LAYER:
            embedding = x
        x = layer(x)
        if layer.name == LOGITS_LAYER:
            break
    if is_cased(model):
        # a third output, the features the last layer reads: what a writer's profile compares letters by
        letters, case = LetterAndCase(name="letter_and_case")(x)
        return keras.Model(inputs, [letters, case, embedding], name=model.name + "_logits")
    return keras.Model(inputs, x, name=model.name + "_logits")
