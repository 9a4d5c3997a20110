"""Two Fashion-MNIST judges, trained here on the training split only, shipped with the package.

No pretrained Fashion-MNIST network can be downloaded here, so the package trains its own
(deterministic: fixed seed, steps, batches and views from derived keys) and ships the weights,
as it does for the digits. Both train on the first 50,000 training images at 32 px, prepared as
the GANs see them (jaxgan.data.fashion_mnist: PIL bilinear 28 -> 32); the last 10,000 training
images are held out for the temperature and as the real images whose figures are the ceiling.

- `main` (the judge of the evaluators): the digits classifier's recipe on garments, with an
  eleventh output, "no garment". Three stride-2 SiLU convolutions, a 128-wide feature layer;
  trained on label-preserving views (sub-pixel shifts, small rotations and scalings, contrast,
  noise: no blur and no flips, which change a garment), on what is no garment as class
  `NO_GARMENT` (blanks, noise, blobs, smears), and on two garments overlaid or spliced with a
  target half "no garment", half unsure between the two. A class of its own rather than the
  digits' uniform target: with uniform targets every non-garment lands where the ambiguous real
  garments lie (near-uniform outputs), so the k-NN balls of those reals took in blanks and noise
  (precision 1.0 on blanks, measured); as a class, non-garments gather far from every real one.
  Its FD, confident share, class mix, PRDC and class agreement are the `fashion` evaluator's.
- `plain` (the second judge, made differently, to check that a recipe is not tuned to the first
  one's quirks): LeNet-style 5x5 ReLU convolutions with max pooling and a 256-wide layer,
  trained on clean images only with another seed and optimiser; FD in its pre-activation
  features. The `fashion_plain` evaluator.

  python -m jaxgan.metrics.fashion_classifier --judge=main     # retrain, write the shipped file
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pathlib
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxgan.data import fashion_mnist
from jaxgan.metrics import classifier as classifier_lib
from jaxgan.metrics import digit_views

NUM_CLASSES = len(fashion_mnist.CLASS_NAMES)
NO_GARMENT = NUM_CLASSES  # The main judge's eleventh output.
IMAGE_SIZE = 32  # The GANs' size: samples and the reference meet here.
TRAIN_IMAGES = 50_000  # train[:50000] trains the judges; train[50000:] is held out.
CONFIDENT = 0.7  # As the digits classifier's: a garment is read when its probability reaches it.
VERSION = 1  # Bump when an architecture, the data or a recipe changes.


class MainCNN(nnx.Module):
  """conv 32 /2 -> conv 64 /2 -> conv 128 /2 -> flatten -> dense 128 (features) -> dense 10."""

  def __init__(self, *, rngs: nnx.Rngs):
    self.conv1 = nnx.Conv(1, 32, (3, 3), strides=2, rngs=rngs)
    self.conv2 = nnx.Conv(32, 64, (3, 3), strides=2, rngs=rngs)
    self.conv3 = nnx.Conv(64, 128, (3, 3), strides=2, rngs=rngs)
    self.hidden = nnx.Linear(128 * 4 * 4, 128, rngs=rngs)
    self.head = nnx.Linear(128, NUM_CLASSES + 1, rngs=rngs)  # + NO_GARMENT

  def layout(self, x):
    for conv in (self.conv1, self.conv2):
      x = nnx.silu(conv(x))
    return x

  def features(self, x):
    x = nnx.silu(self.conv3(self.layout(x)))
    return nnx.silu(self.hidden(x.reshape(x.shape[0], -1)))

  def __call__(self, x):
    return self.head(self.features(x))


class PlainCNN(nnx.Module):
  """LeNet-style: conv5 32, max-pool, conv5 64, max-pool, dense 256, dense 10 (ReLU)."""

  def __init__(self, *, rngs: nnx.Rngs):
    self.conv1 = nnx.Conv(1, 32, (5, 5), rngs=rngs)
    self.conv2 = nnx.Conv(32, 64, (5, 5), rngs=rngs)
    self.hidden = nnx.Linear(64 * 8 * 8, 256, rngs=rngs)
    self.head = nnx.Linear(256, NUM_CLASSES, rngs=rngs)

  def layout(self, x):
    x = nnx.max_pool(nnx.relu(self.conv1(x)), (2, 2), (2, 2))
    return nnx.max_pool(nnx.relu(self.conv2(x)), (2, 2), (2, 2))

  def features(self, x):
    # Pre-activation: ReLU zeroes units per image, which leaves the covariance singular.
    return self.hidden(self.layout(x).reshape(x.shape[0], -1))

  def __call__(self, x):
    return self.head(nnx.relu(self.features(x)))


def main_batch(key, images, labels):
  """(inputs, soft targets over 11 outputs) from N garments: N views, N/8 overlaid and N/8
  spliced pairs (half NO_GARMENT, half unsure between the two), N/4 non-garments (NO_GARMENT)."""
  keys = jax.random.split(key, 4)
  # Garments fill the frame: smaller shifts and turns than the digits' views, and no blur.
  views = digit_views.nuisance(keys[0], images, shift=0.75, rotation=0.1, scale=0.1,
                               blur=False)
  n = images.shape[0]
  eighth = n // 8
  overlaid, overlaid_t = digit_views.overlay(keys[1], views[:eighth], labels[:eighth],
                                             NUM_CLASSES)
  spliced, spliced_t = digit_views.splice(keys[2], views[eighth:2 * eighth],
                                          labels[eighth:2 * eighth], NUM_CLASSES)
  others = digit_views.non_digits(keys[3], n // 4, images.shape[1], views[2 * eighth:])
  inputs = jnp.concatenate([views, overlaid, spliced, others])
  garments = jnp.concatenate([jax.nn.one_hot(labels, NUM_CLASSES), overlaid_t, spliced_t])
  # A pair of two classes (not a one-hot target) is half no garment; a pair of one class stays.
  none = jnp.where(garments.max(axis=1, keepdims=True) < 0.99, 0.5, 0.0)
  targets = jnp.concatenate([jnp.concatenate([garments * (1 - none), none], axis=1),
                             jax.nn.one_hot(jnp.full(n // 4, NO_GARMENT), NUM_CLASSES + 1)])
  return inputs, targets


def plain_batch(key, images, labels):
  del key
  return images, jax.nn.one_hot(labels, NUM_CLASSES)


@dataclasses.dataclass(frozen=True)
class Recipe:
  model: Callable[..., nnx.Module]
  batch: Callable  # (key, images, labels) -> (inputs, soft targets)
  steps: int
  batch_size: int
  optimizer: Callable[[int], optax.GradientTransformation]
  seed: int
  calibrate_on_mix: bool  # Fit the temperature on main_batch's mix, not on clean images only.


RECIPES = {
    'main': Recipe(MainCNN, main_batch, 4_000, 128,
                   lambda steps: optax.adam(optax.cosine_decay_schedule(2e-3, steps)), 0, True),
    'plain': Recipe(PlainCNN, plain_batch, 2_000, 64,
                    lambda steps: optax.sgd(optax.cosine_decay_schedule(0.05, steps),
                                            momentum=0.9), 17, False),
}


def training_split(size: int = IMAGE_SIZE, path: str = ''):
  """((train images, labels), (held-out images, labels)): float32 [-1, 1] NHWC at `size`."""
  images, labels, _ = fashion_mnist.prepared('train', size, path)
  images = images.astype(np.float32) / 127.5 - 1.0
  return ((images[:TRAIN_IMAGES], labels[:TRAIN_IMAGES]),
          (images[TRAIN_IMAGES:], labels[TRAIN_IMAGES:]))


@functools.partial(jax.jit, static_argnums=(0, 1, 2), donate_argnums=(3, 4))
def _train_step(graphdef, name, steps, params, opt_state, images, labels, key):
  recipe = RECIPES[name]
  pick_key, batch_key = jax.random.split(key)
  idx = jax.random.choice(pick_key, labels.shape[0], (recipe.batch_size,), replace=False)
  x, y = recipe.batch(batch_key, images[idx], labels[idx])

  def loss_fn(params):
    return optax.softmax_cross_entropy(nnx.merge(graphdef, params)(x), y).mean()

  loss, grads = jax.value_and_grad(loss_fn)(params)
  updates, opt_state = recipe.optimizer(steps).update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, loss


def train(name: str, path: str = '', steps: int | None = None) -> classifier_lib.Classifier:
  """Trains judge `name` on train[:50000] and fits its temperature on train[50000:]."""
  recipe = RECIPES[name]
  steps = steps or recipe.steps
  (images, labels), (held_images, held_labels) = training_split(IMAGE_SIZE, path)
  graphdef, params = nnx.split(recipe.model(rngs=nnx.Rngs(recipe.seed)))
  opt_state = recipe.optimizer(steps).init(params)
  images, labels = jnp.asarray(images), jnp.asarray(labels)
  key = jax.random.key(recipe.seed + 1)
  for step in range(steps):  # A Python loop: XLA:CPU runs convolutions slowly in while loops.
    params, opt_state, _ = _train_step(graphdef, name, steps, params, opt_state, images,
                                       labels, jax.random.fold_in(key, step))
  judge = classifier_lib.Classifier(graphdef, jax.device_get(params), IMAGE_SIZE)
  if recipe.calibrate_on_mix:
    draws = [main_batch(jax.random.fold_in(jax.random.key(recipe.seed + 2), i),
                        jnp.asarray(held_images[j::4]), jnp.asarray(held_labels[j::4]))
             for i, j in enumerate(range(4))]
    inputs = np.concatenate([np.asarray(d[0]) for d in draws])
    targets = np.concatenate([np.asarray(d[1]) for d in draws])
  else:
    inputs, targets = held_images, np.eye(NUM_CLASSES)[held_labels]
  judge = dataclasses.replace(judge, temperature=classifier_lib.fit_temperature(
      judge.logits(inputs), targets))
  return judge


def garment_reading(probabilities) -> tuple[np.ndarray, np.ndarray]:
  """(garment class (N,), confident (N,)) from either judge's probabilities: the most likely
  garment, confident when its probability reaches CONFIDENT (NO_GARMENT is never a reading)."""
  garments = np.asarray(probabilities)[:, :NUM_CLASSES]
  return garments.argmax(-1).astype(np.int32), garments.max(-1) >= CONFIDENT


def shipped_path(name: str) -> pathlib.Path:
  return pathlib.Path(__file__).with_name(f'fashion_{name}_{IMAGE_SIZE}_v{VERSION}.npz')


@functools.cache
def load(name: str = 'main') -> classifier_lib.Classifier:
  """The shipped judge `name` ('main' or 'plain'); a missing or damaged file is one clear error
  (the weights ship with the package: reinstall it, or retrain with this module's command)."""
  if name not in RECIPES:
    raise ValueError(f'Unknown Fashion-MNIST judge {name!r}; valid: {sorted(RECIPES)}.')
  abstract = nnx.eval_shape(lambda: RECIPES[name].model(rngs=nnx.Rngs(0)))
  graphdef, template = nnx.split(abstract)
  path = shipped_path(name)
  try:
    params, temperature = classifier_lib.load_params(path, template)
  except Exception as e:  # pylint: disable=broad-except
    raise FileNotFoundError(
        f'The Fashion-MNIST judge {path} is missing or damaged ({e}). It ships with jaxgan: '
        f'reinstall the package, or retrain it with python -m jaxgan.metrics.fashion_classifier '
        f'--judge={name} (needs the Fashion-MNIST training split).') from None
  return classifier_lib.Classifier(graphdef, params, IMAGE_SIZE, temperature)


def version(name: str = 'main') -> str:
  """Names the judge in every figure's protocol: recipe version and the weights' digest."""
  digest = hashlib.sha256(shipped_path(name).read_bytes()).hexdigest()[:12]
  return f'fashion_{name}_{IMAGE_SIZE}_v{VERSION} sha256:{digest}'


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  name = flags.FLAGS.judge
  judge = train(name, flags.FLAGS.data_path)
  out = flags.FLAGS.out or str(shipped_path(name))
  classifier_lib.save_params(out, judge.params, judge.temperature)
  os.chmod(out, 0o644)  # Shipped: readable by every user of an installed package.
  _, (held, held_labels) = training_split(IMAGE_SIZE, flags.FLAGS.data_path)
  test, test_labels, _ = fashion_mnist.prepared('test', IMAGE_SIZE, flags.FLAGS.data_path)
  test = test.astype(np.float32) / 127.5 - 1.0
  for what, x, y in (('held-out train', held, held_labels), ('test', test, test_labels)):
    predicted, confident = garment_reading(judge.probabilities(x))
    print(f'{what}: accuracy {np.mean(predicted == y):.4f}, confident {confident.mean():.4f}')
  print(f'temperature {judge.temperature:.4f} -> {out}')


if __name__ == '__main__':
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_enum('judge', 'main', sorted(RECIPES), 'Which judge to train.')
  flags.DEFINE_string('data_path', '', 'Folder of the Fashion-MNIST IDX files (default: TFDS '
                      'or Debian\'s folder).')
  flags.DEFINE_string('out', '', 'Output .npz (default: the shipped file).')
  app.run(main)
