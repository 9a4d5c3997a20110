"""PSNR and SSIM against scikit-image, on random images and on a real photograph with noise."""

import numpy as np
import pytest
import skimage.color
import skimage.data
import skimage.filters
import skimage.metrics

from jaxgan.metrics import image_quality


def sk_ssim(a, b, data_range):
  return skimage.metrics.structural_similarity(
      a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
      data_range=data_range, channel_axis=-1)


def sk_psnr(a, b, data_range):
  return skimage.metrics.peak_signal_noise_ratio(a, b, data_range=data_range)


def sk_y(rgb01):
  """Luma in [16, 235] / 255 by skimage's own BT.601 conversion (MATLAB's rgb2ycbcr)."""
  return skimage.color.rgb2ycbcr(rgb01)[..., :1] / 255.0


@pytest.fixture(scope='module')
def photo_pair():
  clean = skimage.data.astronaut()[100:228, 150:310].astype(np.float64) / 255.0
  noise = np.random.default_rng(0).normal(0, 0.05, clean.shape)
  return clean, np.clip(clean + noise, 0, 1)


@pytest.mark.parametrize('data_range', [1.0, 255.0])
def test_random_images_match_skimage(data_range):
  rng = np.random.default_rng(1)
  a = rng.random((37, 45, 3)) * data_range
  b = np.clip(a + rng.normal(0, 0.1 * data_range, a.shape), 0, data_range)
  assert float(image_quality.psnr(a, b, data_range)) == pytest.approx(
      sk_psnr(a, b, data_range), abs=1e-4)
  assert float(image_quality.ssim(a, b, data_range)) == pytest.approx(
      sk_ssim(a, b, data_range), abs=1e-4)


def test_photo_with_noise_matches_skimage(photo_pair):
  clean, noisy = photo_pair
  assert float(image_quality.psnr(clean, noisy, 1.0)) == pytest.approx(
      sk_psnr(clean, noisy, 1.0), abs=1e-4)
  assert float(image_quality.ssim(clean, noisy, 1.0)) == pytest.approx(
      sk_ssim(clean, noisy, 1.0), abs=1e-4)


@pytest.mark.parametrize('crop', [0, 4])
def test_y_channel_and_crop_match_skimage_on_its_own_luma(photo_pair, crop):
  clean, noisy = photo_pair
  window = (slice(crop, -crop or None), slice(crop, -crop or None))
  ya, yb = sk_y(clean)[window], sk_y(noisy)[window]
  np.testing.assert_allclose(image_quality.rgb_to_y(clean), sk_y(clean), atol=1e-6)
  kw = dict(crop_border=crop, y_channel=True)
  assert float(image_quality.psnr(clean, noisy, 1.0, **kw)) == pytest.approx(
      sk_psnr(ya, yb, 1.0), abs=1e-4)
  assert float(image_quality.ssim(clean, noisy, 1.0, **kw)) == pytest.approx(
      sk_ssim(ya, yb, 1.0), abs=1e-4)


def test_crop_border_on_rgb(photo_pair):
  clean, noisy = photo_pair
  c = 3
  assert float(image_quality.ssim(clean, noisy, 1.0, crop_border=c)) == pytest.approx(
      sk_ssim(clean[c:-c, c:-c], noisy[c:-c, c:-c], 1.0), abs=1e-4)


def test_batch_gives_per_image_values(photo_pair):
  clean, noisy = photo_pair
  rng = np.random.default_rng(2)
  other = np.clip(clean + rng.normal(0, 0.2, clean.shape), 0, 1)
  a, b = np.stack([clean, clean]), np.stack([noisy, other])
  for metric, oracle in ((image_quality.psnr, sk_psnr), (image_quality.ssim, sk_ssim)):
    values = np.asarray(metric(a, b, 1.0))
    assert values.shape == (2,)
    np.testing.assert_allclose(values, [oracle(clean, noisy, 1.0), oracle(clean, other, 1.0)],
                               atol=1e-4)


def test_uint8_inputs_and_identical_images():
  img = skimage.data.chelsea()[:64, :64]
  assert float(image_quality.ssim(img, img, 255.0)) == pytest.approx(1.0, abs=1e-6)
  assert float(image_quality.psnr(img, img, 255.0)) == np.inf


def test_rejects_mismatched_shapes_and_tiny_images():
  with pytest.raises(ValueError):
    image_quality.psnr(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)), 1.0)
  with pytest.raises(ValueError):
    image_quality.ssim(np.zeros((10, 10, 3)), np.zeros((10, 10, 3)), 1.0)


def test_detail_ratio_against_numpy_and_blur(photo_pair):
  """mean |forward difference| of sk's luma, by numpy; 1 for the image itself, < 1 blurred."""
  clean, noisy = photo_pair
  blurred = skimage.filters.gaussian(clean, sigma=1.5, channel_axis=-1)

  def mean_gradient(rgb):
    y = sk_y(rgb)[3:-3, 3:-3]
    return np.abs(np.diff(y, axis=0)).mean() + np.abs(np.diff(y, axis=1)).mean()
  for image in (blurred, noisy):
    expected = mean_gradient(image) / mean_gradient(clean)
    got = image_quality.detail_ratio(image, clean, data_range=1.0, crop_border=3, y_channel=True)
    assert float(got) == pytest.approx(expected, rel=1e-4)
  assert float(image_quality.detail_ratio(clean, clean, data_range=1.0)) == pytest.approx(1.0)
  assert image_quality.detail_ratio(blurred, clean, data_range=1.0) < 0.7
  assert image_quality.detail_ratio(noisy, clean, data_range=1.0) > 1.2
