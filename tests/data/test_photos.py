"""The embedded `photos` set: offline, held-out split, and SR crop pairs."""

import numpy as np
import pytest

from jaxgan.data import photos
from jaxgan.data.imresize import bicubic_downsample


def test_split_is_disjoint_with_the_held_out_photos():
  train, held_out = photos.train_photos(), photos.eval_photos()
  assert [p.name for p in held_out] == ['astronaut', 'chelsea', 'coffee']
  assert len(train) >= 3 and not {p.name for p in train} & {p.name for p in held_out}
  for photo in train + held_out:
    assert photo.image.dtype == np.uint8 and photo.image.ndim == 3
    assert photo.image.shape[2] == 3 and min(photo.image.shape[:2]) >= 256
  # No training photo is an evaluation photo under another name (skimage's cat == chelsea).
  for t in train:
    for e in held_out:
      assert t.image.shape != e.image.shape or not np.array_equal(t.image, e.image)


@pytest.mark.parametrize('crop,scale', [(96, 4), (48, 2), (64, 8)])
def test_random_sr_crop_shapes_ranges_and_lr_is_matlab_bicubic(crop, scale):
  rng = np.random.default_rng(0)
  for photo in photos.train_photos()[:2]:
    lr, hr = photos.random_sr_crop(photo.image, rng, crop=crop, scale=scale)
    assert hr.shape == (crop, crop, 3) and lr.shape == (crop // scale, crop // scale, 3)
    assert hr.dtype == lr.dtype == np.float32
    assert hr.min() >= -1 and hr.max() <= 1 and lr.min() >= 0 and lr.max() <= 1
    hr_uint8 = np.round((hr + 1) * 127.5).astype(np.uint8)
    np.testing.assert_allclose(hr_uint8 / 127.5 - 1, hr, atol=1e-6)
    np.testing.assert_allclose(lr * 255, bicubic_downsample(hr_uint8, scale), atol=1e-4)


def test_crops_come_from_the_photo_under_the_8_square_symmetries():
  # Each pixel stores its own (row, col), so a crop tells where it came from.
  rows, cols = np.mgrid[:200, :240]
  image = np.stack([rows, cols, np.full_like(rows, 7)], -1).astype(np.uint8)
  rng = np.random.default_rng(1)
  seen = set()
  for _ in range(40):
    _, hr = photos.random_sr_crop(image, rng, crop=32, scale=4)
    hr_uint8 = np.round((hr + 1) * 127.5).astype(np.uint8)
    top, left = hr_uint8[..., 0].min(), hr_uint8[..., 1].min()
    window = image[top:top + 32, left:left + 32]
    matches = [(k, flip) for k in range(4) for flip in (False, True)
               if np.array_equal(np.rot90(window[:, ::-1] if flip else window, k), hr_uint8)]
    assert len(matches) == 1
    seen.add(matches[0])
  assert len(seen) >= 6  # the augmentations are actually applied


def test_random_sr_crop_rejects_bad_sizes():
  rng = np.random.default_rng(0)
  with pytest.raises(ValueError):
    photos.random_sr_crop(np.zeros((50, 200, 3), np.uint8), rng, crop=96)
  with pytest.raises(ValueError):
    photos.random_sr_crop(np.zeros((200, 200, 3), np.uint8), rng, crop=90, scale=4)
