"""A small CNN that reads real `digits` and knows when an image is not one.

No pretrained digit classifier can be downloaded here, so one is trained inside the package,
deterministically (fixed seed, fixed steps, batches and views drawn from derived keys), and its
params and temperature are cached on disk. It trains on what a reader ignores (sub-pixel
shifts, small rotations, blur, contrast, noise: `digit_views.nuisance`) and on what a reader
would not call a digit (blanks, noise, blobs, smeared digits with a uniform target; two digits
overlaid with the mixed target), then its temperature is fitted on held-out digits. A sample
is *confident* when its top probability is at least `CONFIDENT` (0.7): `digits_confident` is
the share of such samples, and class coverage and class agreement count confident samples only,
so blobs that happen to land on a class are not counted as that digit.
"""

import dataclasses
import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.optimize
import scipy.special
from flax import nnx

from jaxgan.cache import cache_dir, save_npz
from jaxgan.data import digits
from jaxgan.data.digits import NUM_CLASSES
from jaxgan.metrics import digit_views

# Bump when the architecture, data or training recipe changes: old cache files are then ignored.
VERSION = 3
TRAIN_STEPS = 1_000
BATCH_SIZE = 64  # Digit views per step; half as many overlays and as many non-digits join them.
LEARNING_RATE = 2e-3
SEED = 0
CHUNK = 256  # inference batch: one compiled shape, bounded memory for any number of images
IMAGE_SIZE = 16  # The digits are 8x8: 16 px keeps every pixel; larger samples are resized.
CONFIDENT = 0.7  # A sample is read as a digit when its top calibrated probability reaches this.
CALIBRATION_VIEWS = 8  # Nuisance views of each held-out digit that the temperature is fitted on.


class DigitsCNN(nnx.Module):
  """conv 32 /2 -> conv 64 /2 -> conv 128 /2 -> flatten -> dense 128 (features) -> dense 10.

  Flatten, not a global mean pool: a digit is told by where its strokes are, and a pool over
  3x3-conv features loses that layout (held-out accuracy fell from 99% to 96% at 32 px).
  """

  def __init__(self, image_size: int, *, rngs: nnx.Rngs):
    # Every conv strides by 2: the images are upsampled 8x8 digits, so the first stride
    # loses almost nothing and makes training ~6x cheaper on CPU than a stride-1 first conv.
    self.conv1 = nnx.Conv(1, 32, (3, 3), strides=2, rngs=rngs)
    self.conv2 = nnx.Conv(32, 64, (3, 3), strides=2, rngs=rngs)
    self.conv3 = nnx.Conv(64, 128, (3, 3), strides=2, rngs=rngs)
    side = -(-image_size // 8)  # three SAME-padded stride-2 convs round up
    self.hidden = nnx.Linear(128 * side * side, 128, rngs=rngs)
    self.head = nnx.Linear(128, NUM_CLASSES, rngs=rngs)

  def layout(self, x: jax.Array) -> jax.Array:
    """Where the strokes are: the second conv layer's activations (B, S/4, S/4, 64)."""
    # SiLU rather than ReLU: no dead feature units, so feature covariances stay full rank
    # for the Frechet distance.
    for conv in (self.conv1, self.conv2):
      x = nnx.silu(conv(x))
    return x

  def features(self, x: jax.Array) -> jax.Array:
    x = nnx.silu(self.conv3(self.layout(x)))
    return nnx.silu(self.hidden(x.reshape(x.shape[0], -1)))

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.head(self.features(x))


def digits_split(image_size: int = IMAGE_SIZE):
  """The fixed split: `((train_images, train_labels), (test_images, test_labels))`."""
  return digits.digits_split(image_size, 'train'), digits.digits_split(image_size, 'test')



def _optimizer(steps: int) -> optax.GradientTransformation:
  return optax.adam(optax.cosine_decay_schedule(LEARNING_RATE, steps))


def mixed_batch(key, images, labels):
  """(inputs, soft targets) from N digits: their nuisance views with one-hot targets, N / 4
  overlaid pairs and N / 4 spliced pairs with unsure targets, and N / 2 non-digits with
  uniform targets."""
  view_key, overlay_key, splice_key, other_key = jax.random.split(key, 4)
  views = digit_views.nuisance(view_key, images)
  quarter, half = images.shape[0] // 4, images.shape[0] // 2
  overlaid, overlaid_targets = digit_views.overlay(overlay_key, views[:quarter],
                                                   labels[:quarter], NUM_CLASSES)
  spliced, spliced_targets = digit_views.splice(splice_key, views[quarter:half],
                                                labels[quarter:half], NUM_CLASSES)
  others = digit_views.non_digits(other_key, half, images.shape[1], views[half:])
  inputs = jnp.concatenate([views, overlaid, spliced, others])
  targets = jnp.concatenate([jax.nn.one_hot(labels, NUM_CLASSES), overlaid_targets,
                             spliced_targets, jnp.full((half, NUM_CLASSES), 1.0 / NUM_CLASSES)])
  return inputs, targets


def training_batch(key, images, labels):
  pick_key, batch_key = jax.random.split(key)
  idx = jax.random.choice(pick_key, labels.shape[0], (BATCH_SIZE,), replace=False)
  return mixed_batch(batch_key, images[idx], labels[idx])


@functools.partial(jax.jit, static_argnums=(0, 6), donate_argnums=(1, 2))
def _train_step(graphdef, params, opt_state, images, labels, key, steps):
  def loss_fn(params, x, y):
    logits = nnx.merge(graphdef, params)(x)
    return optax.softmax_cross_entropy(logits, y).mean()

  x, y = training_batch(key, images, labels)
  loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
  updates, opt_state = _optimizer(steps).update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, loss


def train_digits_classifier(image_size: int = IMAGE_SIZE, steps: int = TRAIN_STEPS,
                            seed: int = SEED):
  """Trains on the 90% split; returns `(graphdef, params)`.

  Same arguments and backend, same bits: init, batches and views all come from `seed`.
  """
  (images, labels), _ = digits_split(image_size)
  images, labels = jnp.asarray(images), jnp.asarray(labels)
  graphdef, params = nnx.split(DigitsCNN(image_size, rngs=nnx.Rngs(seed)))
  opt_state = _optimizer(steps).init(params)
  key = jax.random.key(seed + 1)  # distinct from the init stream
  # A Python loop, not lax.scan: XLA:CPU runs these convolutions ~50x slower inside a while
  # loop (measured with jax 0.10.2). Per-step keys are derived, so the loop is still pure.
  for step in range(steps):
    params, opt_state, _ = _train_step(graphdef, params, opt_state, images, labels,
                                       jax.random.fold_in(key, step), steps)
  return graphdef, jax.device_get(params)


def fit_temperature(logits, targets) -> float:
  """Temperature scaling (Guo et al. 2017): the T > 0 minimising the cross-entropy of
  softmax(logits / T) against `targets` (N, C) probabilities."""
  logits, targets = np.asarray(logits, np.float64), np.asarray(targets, np.float64)

  def cross_entropy(log_t):
    return -(targets * scipy.special.log_softmax(logits / np.exp(log_t), axis=1)).sum(1).mean()
  result = scipy.optimize.minimize_scalar(cross_entropy, bounds=(-3, 3), method='bounded')
  return float(np.exp(result.x))


def calibration_set(image_size: int, seed: int = SEED):
  """Held-out digits as the classifier trains on them (`mixed_batch`), `CALIBRATION_VIEWS`
  draws: views of every digit, overlaid pairs and non-digits, with their soft targets.

  Fitting the temperature on digits alone would sharpen it (held-out views are ~100% right)
  and make overlays and blobs confident again; the mix keeps both sides honest.
  """
  _, (images, labels) = digits_split(image_size)
  images, labels = jnp.asarray(images), jnp.asarray(labels)
  key = jax.random.key(seed + 2)
  draws = [mixed_batch(jax.random.fold_in(key, i), images, labels)
           for i in range(CALIBRATION_VIEWS)]
  return tuple(np.concatenate([np.asarray(d[j]) for d in draws]) for j in range(2))


@functools.partial(jax.jit, static_argnums=(0, 3, 4))
def _forward(graphdef, params, images, image_size, output):
  if images.shape[1:3] != (image_size, image_size):
    shape = (images.shape[0], image_size, image_size, images.shape[3])
    images = jax.image.resize(images, shape, method='bilinear')
  model = nnx.merge(graphdef, params)
  if output == 'layout':
    return model.layout(images).reshape(images.shape[0], -1)
  return model.features(images) if output == 'features' else model(images)


@dataclasses.dataclass(frozen=True)
class Classifier:
  """A trained CNN (`DigitsCNN`, or a Fashion-MNIST judge of jaxgan.metrics.fashion_classifier)
  as a pure function of float images in [-1, 1], NHWC, 1 channel.

  Logits are divided by the fitted `temperature`, so softmax gives calibrated probabilities.
  """

  graphdef: nnx.GraphDef
  params: nnx.State
  image_size: int
  temperature: float = 1.0

  def _apply(self, images, output: str) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 1:
      raise ValueError(f'expected (N, H, W, 1) images, got shape {images.shape}')
    n = len(images)
    pad = -n % CHUNK if n else CHUNK  # at least one chunk, so empty input keeps its shape
    padded = np.concatenate([images, np.zeros((pad,) + images.shape[1:], np.float32)])
    out = [_forward(self.graphdef, self.params, padded[i:i + CHUNK], self.image_size, output)
           for i in range(0, len(padded), CHUNK)]
    return np.asarray(jnp.concatenate(out)[:n])

  def logits(self, images) -> np.ndarray:
    """float32 (N, 10), calibrated (divided by the temperature)."""
    return self._apply(images, 'logits') / np.float32(self.temperature)

  def probabilities(self, images) -> np.ndarray:
    """float32 (N, 10): calibrated class probabilities."""
    return scipy.special.softmax(self.logits(images), axis=-1)

  def predict(self, images) -> np.ndarray:
    """int32 (N,) predicted digits."""
    return self.logits(images).argmax(axis=-1).astype(np.int32)

  def read(self, images) -> tuple[np.ndarray, np.ndarray]:
    """(int32 (N,) predicted digits, bool (N,) confident: top probability >= CONFIDENT)."""
    probs = self.probabilities(images)
    return probs.argmax(axis=-1).astype(np.int32), probs.max(axis=-1) >= CONFIDENT

  def features(self, images) -> np.ndarray:
    """float32 (N, 128): the penultimate layer, for a Frechet distance in its space."""
    return self._apply(images, 'features')

  def layout_features(self, images) -> np.ndarray:
    """float32 (N, 1024): where the strokes are (the second conv layer), for precision/recall.

    Not the penultimate layer: there every non-digit maps near one point, so one real
    outlier whose k-NN ball reaches it would count every blank or blob as a real digit.
    """
    return self._apply(images, 'layout')


DigitsClassifier = Classifier  # The name of the digits' judge before Fashion-MNIST had one.


def cache_path(image_size: int) -> pathlib.Path:
  return cache_dir() / f'digits_classifier_{image_size}_v{VERSION}.npz'


def _leaf_names(params) -> list[str]:
  paths = jax.tree_util.tree_flatten_with_path(params)[0]
  return [jax.tree_util.keystr(p, simple=True, separator='/') for p, _ in paths]


def save_params(path, params, temperature: float) -> None:
  # Temp file + os.replace: a reader (or a parallel test worker) never sees half a file.
  arrays = dict(zip(_leaf_names(params), map(np.asarray, jax.tree.leaves(params))))
  save_npz(path, arrays | {'temperature': np.float64(temperature)})


def load_params(path, template):
  """(params shaped like `template`, temperature) from `path`; raises if missing or corrupt."""
  with np.load(path) as f:
    leaves = [f[name] for name in _leaf_names(template)]
    temperature = float(f['temperature'])
  for leaf, want in zip(leaves, jax.tree.leaves(template)):
    if leaf.shape != want.shape or leaf.dtype != want.dtype:
      raise ValueError(f'{path}: {leaf.shape} {leaf.dtype} != {want.shape} {want.dtype}')
  if not np.isfinite(temperature) or temperature <= 0:
    raise ValueError(f'{path}: temperature {temperature}')
  return jax.tree.unflatten(jax.tree.structure(template), leaves), temperature


def build_digits_classifier(image_size: int = IMAGE_SIZE, steps: int = TRAIN_STEPS,
                            seed: int = SEED) -> Classifier:
  """Trains the classifier, then fits its temperature on held-out digits (`calibration_set`)."""
  graphdef, params = train_digits_classifier(image_size, steps, seed)
  uncalibrated = Classifier(graphdef, params, image_size)
  images, targets = calibration_set(image_size, seed)
  return dataclasses.replace(uncalibrated, temperature=fit_temperature(
      uncalibrated.logits(images), targets))


def shipped_path(image_size: int) -> pathlib.Path:
  """The classifier shipped with the package (`build_digits_classifier()` of this VERSION)."""
  return pathlib.Path(__file__).with_name(f'digits_classifier_{image_size}_v{VERSION}.npz')


def load_digits_classifier(image_size: int = IMAGE_SIZE) -> Classifier:
  """The shipped classifier, else the cached one, else one trained now (about a minute on a
  2-core CPU) and cached.

  The package ships the 16 px classifier so that every machine judges samples with the same
  weights (retrained ones differ in the last bits with the processor's summation order) and the
  quick start does not spend a minute training it.
  """
  abstract = nnx.eval_shape(lambda: DigitsCNN(image_size, rngs=nnx.Rngs(SEED)))
  graphdef, template = nnx.split(abstract)
  for path in (shipped_path(image_size), cache_path(image_size)):
    try:
      params, temperature = load_params(path, template)
    except Exception:  # missing, truncated, corrupt or stale: try the next, or retrain
      continue
    return Classifier(graphdef, params, image_size, temperature)
  built = build_digits_classifier(image_size)
  save_params(cache_path(image_size), built.params, built.temperature)
  return built


def digits_confident(classifier: Classifier, images) -> float:
  """Share of images the classifier reads as some digit with probability >= CONFIDENT."""
  return float(classifier.read(images)[1].mean())


def class_agreement(classifier: Classifier, images, labels) -> tuple[float, np.ndarray]:
  """Share of samples confidently classified as their conditioning label: overall, per class.

  A sample read as another digit, or as no digit with confidence, counts against its class.
  A class with no samples gets NaN, so it cannot be mistaken for a perfect or a failed class.
  """
  labels = np.asarray(labels).astype(np.int32)
  predicted, confident = classifier.read(images)
  hits = (predicted == labels) & confident
  counts = np.bincount(labels, minlength=NUM_CLASSES)
  per_class = np.bincount(labels, weights=hits, minlength=NUM_CLASSES)
  with np.errstate(invalid='ignore', divide='ignore'):
    per_class = per_class / counts
  return float(hits.mean()), per_class


MIN_CLASS_SHARE = 0.03  # A digit is present when 3% of all samples are confidently read as it.


def class_coverage(classifier: Classifier, images,
                   min_share: float = MIN_CLASS_SHARE) -> tuple[np.ndarray, int]:
  """Share of each digit among the confident samples (10,), and how many digits are present.

  A digit is present when at least `min_share` of all samples are confidently read as it, so
  a few confident samples among many blobs do not make a digit present; with no confident
  sample every share is 0 and no digit is present.
  """
  predicted, confident = classifier.read(images)
  counts = np.bincount(predicted[confident], minlength=NUM_CLASSES)
  shares = counts / max(counts.sum(), 1)
  return shares, int((counts >= max(min_share * len(predicted), 1)).sum())
