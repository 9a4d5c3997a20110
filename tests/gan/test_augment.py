"""DiffAugment: each policy against the transformation it names, gradients, determinism."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.gan import augment


def images(n=16, size=16, channels=3, seed=0):
  """Positive images (no pixel is 0), so zero fill is told apart from content."""
  rng = np.random.default_rng(seed)
  return jnp.asarray(rng.uniform(0.1, 1.0, (n, size, size, channels)).astype(np.float32))


def shifted(image, dy, dx):
  """numpy oracle: the image moved by (dy, dx) pixels, zeros where nothing moved in."""
  h, w = image.shape[:2]
  out = np.zeros_like(image)
  out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
      image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
  return out


def test_translation_is_a_zero_filled_shift_of_at_most_an_eighth():
  x = images(32, size=16)
  out = np.asarray(augment.translation(jax.random.key(0), x))
  seen = set()
  for image, result in zip(np.asarray(x), out):
    matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
               if np.array_equal(shifted(image, dy, dx), result)]
    assert len(matches) == 1  # 16 px / 8 = 2 px at most, exactly one shift explains it
    seen.add(matches[0])
  assert len(seen) > 5  # shifts are drawn per image


def test_cutout_zeroes_one_square_of_half_the_side():
  x = images(32, size=16, channels=1)
  out = np.asarray(augment.cutout(jax.random.key(1), x))
  for image, result in zip(np.asarray(x), out):
    cut = result[..., 0] == 0
    np.testing.assert_array_equal(result[~cut], image[~cut])  # untouched elsewhere
    rows, cols = np.flatnonzero(cut.any(1)), np.flatnonzero(cut.any(0))
    assert cut.sum() == len(rows) * len(cols)  # a rectangle ...
    assert len(rows) <= 8 and len(cols) <= 8 and cut.sum() > 0  # ... of at most 8 x 8
    interior = 0 < rows[0] and rows[-1] < 15 and 0 < cols[0] and cols[-1] < 15
    assert not interior or (len(rows), len(cols)) == (8, 8)  # clipped only at the border


def test_color_is_brightness_saturation_contrast_in_their_ranges():
  x = images(64, channels=3)
  out = np.asarray(augment.color(jax.random.key(2), x))
  xn = np.asarray(x)
  # Brightness b, saturation s, contrast c per image: out = c (s (x - m_c) + m_c + b - M) + M
  # with m_c the channel mean of each pixel and M the image mean after saturation; so the
  # per-pixel channel deviations scale by s * c and the luminance pattern by c.
  dev_in = xn - xn.mean(-1, keepdims=True)
  dev_out = out - out.mean(-1, keepdims=True)
  sc = (dev_out * dev_in).sum((1, 2, 3)) / (dev_in ** 2).sum((1, 2, 3))
  np.testing.assert_allclose(dev_out, sc[:, None, None, None] * dev_in, atol=1e-4)
  assert 0 <= sc.min() and sc.max() <= 3.0 and sc.std() > 0.1
  lum_in = xn.mean(-1) - xn.mean((1, 2, 3))[:, None, None]
  lum_out = out.mean(-1) - out.mean((1, 2, 3))[:, None, None]
  c = (lum_out * lum_in).sum((1, 2)) / (lum_in ** 2).sum((1, 2))
  np.testing.assert_allclose(lum_out, c[:, None, None] * lum_in, atol=1e-4)
  assert 0.5 <= c.min() and c.max() <= 1.5
  shift = out.mean((1, 2, 3)) - xn.mean((1, 2, 3))  # brightness moves the mean only
  assert -0.5 <= shift.min() and shift.max() <= 0.5 and shift.std() > 0.1


def test_policies_compose_are_deterministic_and_differentiable():
  x = images(8)
  aug = augment.make_diffaugment('color,translation,cutout')
  key = jax.random.key(3)
  np.testing.assert_array_equal(aug(key, x), aug(key, x))
  assert not np.array_equal(aug(key, x), aug(jax.random.key(4), x))
  # Translation and cutout move or drop pixels: the gradient of the sum is 1 on each input
  # pixel that lands in the output uncut, so it sums to the pixels of A(ones) that are 1.
  moves = augment.make_diffaugment('translation,cutout')
  grad = np.asarray(jax.grad(lambda x: jnp.sum(moves(key, x)))(x))
  assert set(np.unique(grad)) == {0.0, 1.0}
  assert grad.sum() == np.asarray(moves(key, jnp.ones_like(x))).sum() < x.size
  identity = augment.make_diffaugment('')
  np.testing.assert_array_equal(identity(key, x), x)


def test_unknown_policy_names_the_valid_ones():
  with pytest.raises(ValueError, match=r"Unknown data.diffaugment policy \['colour'\].*"
                                       r"'color', 'cutout', 'translation'"):
    augment.make_diffaugment('colour,cutout')
