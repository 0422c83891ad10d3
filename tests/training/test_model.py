import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="training extra not installed")

from handwritten_letters.training import model as letters_model  # noqa: E402


def _distinct_images(count: int, seed: int = 0) -> np.ndarray:
    """Bars at random places and angles: every image clearly different from the others."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    images = np.zeros((count, 28, 28, 1), np.float32)
    for image in images:
        for _ in range(2):
            y, x = rng.uniform(8, 20, 2)
            angle = rng.uniform(0, np.pi)
            distance = np.abs((rows - y) * np.cos(angle) - (cols - x) * np.sin(angle))
            along = np.abs((rows - y) * np.sin(angle) + (cols - x) * np.cos(angle))
            image[..., 0] = np.maximum(image[..., 0], ((distance < 1.6) & (along < 8)).astype(np.float32))
    return images


class _AlwaysTraining(keras.layers.Layer):
    """Runs the augmentation in training mode inside predict(), i.e. in a compiled graph as fit() does."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, images):
        return self.inner(images, training=True)


def _augment_in_graph(images: np.ndarray, batch_size: int) -> np.ndarray:
    """Two passes with different batch sizes, as fit() meets them (the last batch of an epoch is
    smaller). Keras 3.15's RandomElasticTransform mixed up images of a batch in fit(); here, it
    did so after the change of batch size (checked: this test fails with that layer)."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((28, 28, 1))
    graph = keras.Model(inputs, _AlwaysTraining(letters_model.augmentation())(inputs))
    graph.predict(images, batch_size=2 * batch_size, verbose=0)
    return graph.predict(images, batch_size=batch_size, verbose=0)


@pytest.mark.parametrize("batch_size", [32, 64, 128])
def test_augmentation_in_a_compiled_graph_keeps_every_image_its_own(batch_size):
    # Keras 3.15's RandomElasticTransform, in a graph, swapped images within a batch (wrong labels).
    # Each image here is a disc of its own brightness: resampling, erosion and dilation keep the
    # brightness inside a disc, so the brightest pixel of an output names the image it came from.
    count = 128
    levels = np.linspace(0.3, 1.0, count, dtype=np.float32)
    rows, cols = np.mgrid[0:28, 0:28]
    disc = (((rows - 13.5) ** 2 + (cols - 13.5) ** 2) < 36).astype(np.float32)
    images = np.tile((levels[:, None, None] * disc)[..., None], (2, 1, 1, 1))
    augmented = _augment_in_graph(images, batch_size)
    spacing = levels[1] - levels[0]
    np.testing.assert_allclose(augmented.reshape(len(images), -1).max(axis=1), np.tile(levels, 2), atol=spacing / 2)


def test_augmentation_distorts_but_keeps_the_ink_in_the_frame():
    images = _distinct_images(64, seed=1)
    augmented = _augment_in_graph(images, 64)
    assert augmented.shape == images.shape
    assert 0.0 <= augmented.min() and augmented.max() <= 1.0 + 1e-6
    changed = np.abs(augmented - images).reshape(64, -1).max(axis=1) > 0.2
    assert changed.mean() > 0.9
    ink_ratio = augmented.reshape(64, -1).sum(1) / images.reshape(64, -1).sum(1)
    assert np.all((ink_ratio > 0.3) & (ink_ratio < 3.0))


def test_augmentation_is_the_identity_at_inference():
    images = _distinct_images(8, seed=2)
    augmentation = letters_model.augmentation()
    np.testing.assert_array_equal(np.asarray(augmentation(images, training=False)), images)


def test_augmentation_layers_survive_a_save_and_load(tmp_path):
    network = letters_model.build_model("seed", augment=True)
    path = tmp_path / "model.keras"
    network.save(path)
    loaded = keras.saving.load_model(path)
    distortion = loaded.get_layer("augmentation").layers[0]
    assert isinstance(distortion, letters_model.RandomHandDistortion)
    assert distortion.get_config()["rotation"] == letters_model.RandomHandDistortion().rotation


@pytest.mark.parametrize("name", ["seed", "best", "real", "real-wide"])
def test_every_recipe_builds_a_26_way_classifier_of_raw_letters(name):
    from handwritten_letters.training.recipes import RECIPES, build_training_model

    network = build_training_model(RECIPES[name], steps_per_epoch=10, epochs=2)
    probabilities = network.predict(np.zeros((3, 28, 28), np.uint8), verbose=0)
    assert probabilities.shape == (3, 26)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_wide_net_has_more_channels_than_deep():
    deep, wide = letters_model.build_model("deep"), letters_model.build_model("wide")
    assert wide.count_params() > 1.5 * deep.count_params()
