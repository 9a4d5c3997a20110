"""The SR evaluation table against an independent numpy PSNR, and the upscale command."""

import os

import numpy as np
import pytest
from PIL import Image

from testlib import run_tool
from jaxgan.data.imresize import bicubic_downsample, imresize, modcrop
from jaxgan.sr import evaluate, upscale


def numpy_y_psnr(a, b, border):
  """PSNR of MATLAB rgb2ycbcr's Y channel, written out independently of jaxgan.metrics."""
  y = lambda x: 16.0 + x.astype(np.float64) @ np.array([65.481, 128.553, 24.966]) / 255.0
  diff = (y(a) - y(b))[border:-border, border:-border]
  return 10 * np.log10(255.0**2 / np.mean(diff**2))


@pytest.fixture(scope='module')
def hr_folder(tmp_path_factory):
  path = tmp_path_factory.mktemp('Set2')
  rng = np.random.default_rng(0)
  smooth = lambda s: imresize(rng.integers(0, 256, (s[0] // 8, s[1] // 8, 3)).astype(np.uint8),
                              output_shape=s)
  Image.fromarray(smooth((50, 41))).save(path / 'a.png')  # modcrop -> 48 x 40
  Image.fromarray(smooth((64, 64))).convert('L').save(path / 'b.png')  # grayscale -> RGB
  return str(path)


def test_sr_eval_table(tiny_srresnet_run, hr_folder, capsys):
  config, workdir = tiny_srresnet_run
  means = evaluate.sr_eval(workdir, [hr_folder])
  printed = capsys.readouterr().out
  saved = open(os.path.join(workdir, 'sr_eval.md')).read()
  assert printed.strip() == saved.strip()
  assert [m['method'] for m in means] == ['bicubic', config.name]
  assert means[0]['dataset'] == os.path.basename(hr_folder) and means[0]['images'] == 2
  expected = []
  for name in ('a.png', 'b.png'):
    hr = modcrop(np.asarray(Image.open(os.path.join(hr_folder, name)).convert('RGB')), 4)
    lr = bicubic_downsample(hr, 4)
    expected.append(numpy_y_psnr(imresize(lr, 4), hr, 4))
    assert f'| {name} | bicubic | ' in saved
  assert means[0]['psnr'] == pytest.approx(np.mean(expected), abs=1e-3)
  assert f"| {os.path.basename(hr_folder)} | bicubic | {np.mean(expected):.2f} |" in saved
  assert 0 < means[1]['ssim'] < means[0]['ssim'] <= 1  # A 2-step model is worse than bicubic.
  assert all(0 < m['detail'] < 1.5 for m in means)  # Smooth images: bicubic stays below 1.
  assert f"| {means[0]['detail']:.3f} |" in saved
  assert os.path.exists(os.path.join(workdir, 'sr_eval.json'))


def nearest_4x(lr):
  return np.repeat(np.repeat(lr, 4, axis=1), 4, axis=2)


def test_self_ensemble_of_an_equivariant_upscaler_is_the_upscaler():
  lr = np.random.default_rng(0).random((2, 5, 7, 3)).astype(np.float32)  # Not square.
  np.testing.assert_allclose(evaluate.self_ensemble(nearest_4x)(lr), nearest_4x(lr), atol=1e-6)


def test_self_ensemble_averages_the_eight_symmetries():
  """An upscaler that adds a ramp along its output columns: the 8 flips and rotations, undone,
  hold that ramp and its mirror along the columns (4 times) and along the rows (4 times), so
  their mean adds the constant ((W - 1) / 2 + (H - 1) / 2) / 2 = (H + W - 2) / 4."""
  ramp = lambda y: y + np.arange(y.shape[2], dtype=np.float32)[None, None, :, None]
  lr = np.random.default_rng(1).random((1, 5, 7, 3)).astype(np.float32)
  out = evaluate.self_ensemble(lambda x: ramp(nearest_4x(x)))(lr)
  np.testing.assert_allclose(out, nearest_4x(lr) + (20 + 28 - 2) / 4, atol=1e-5)


def test_sr_eval_refuses_a_missing_folder(tiny_srresnet_run, tmp_path):
  with pytest.raises(ValueError, match='Set5'):
    evaluate.sr_eval(tiny_srresnet_run[1], [str(tmp_path / 'Set5')])


def test_upscale_handles_grayscale_and_alpha(tiny_srresnet_run):
  _, workdir = tiny_srresnet_run
  _, upscaler = evaluate.restore_generator(workdir)
  rgba = np.random.default_rng(0).integers(0, 256, (20, 30, 4)).astype(np.uint8)
  out = upscale.upscale_image(upscaler, Image.fromarray(rgba), 4, tile=16, overlap=4)
  assert out.mode == 'RGBA' and out.size == (120, 80)
  colour = upscale.upscale_array(upscaler, rgba[..., :3], 4, tile=16, overlap=4)
  np.testing.assert_array_equal(np.asarray(out)[..., :3], colour)
  np.testing.assert_array_equal(np.asarray(out)[..., 3], imresize(rgba[..., 3], 4))
  gray = upscale.upscale_image(upscaler, Image.fromarray(rgba[..., 0]), 4, tile=16, overlap=4)
  assert gray.mode == 'L' and gray.size == (120, 80)
  with pytest.raises(ValueError, match='8-bit'):
    upscale.upscale_image(upscaler, Image.fromarray(rgba[..., 0].astype(np.uint16) * 256), 4)


def test_upscale_command(tiny_srresnet_run, tmp_path):
  _, workdir = tiny_srresnet_run
  image = np.random.default_rng(1).integers(0, 256, (37, 45, 3)).astype(np.uint8)
  Image.fromarray(image).save(tmp_path / 'in.png')
  result = run_tool('upscale', f'--workdir={workdir}', '--tile=16', '--overlap=4',
                    str(tmp_path / 'in.png'), str(tmp_path / 'out.png'))
  assert result.returncode == 0, result.stderr[-2000:]
  with Image.open(tmp_path / 'out.png') as out:
    assert out.size == (180, 148) and out.mode == 'RGB'
  result = run_tool('upscale', f'--workdir={workdir}', '--tile=16', '--overlap=4',
                    '--self_ensemble', str(tmp_path / 'in.png'), str(tmp_path / 'out_plus.png'))
  assert result.returncode == 0, result.stderr[-2000:]
  with Image.open(tmp_path / 'out.png') as out, Image.open(tmp_path / 'out_plus.png') as plus:
    assert plus.size == out.size and np.any(np.asarray(plus) != np.asarray(out))


def test_evaluate_command_with_sr_eval(tiny_srresnet_run, hr_folder):
  config, workdir = tiny_srresnet_run
  result = run_tool('evaluate', f'--workdir={workdir}', f'--sr_eval={hr_folder}',
                    '--self_ensemble')
  assert result.returncode == 0, result.stderr[-2000:]
  assert f'| {os.path.basename(hr_folder)} | bicubic |' in result.stdout
  assert f'| {os.path.basename(hr_folder)} | {config.name}+ |' in result.stdout
  assert result.stdout.strip() == open(os.path.join(workdir, 'sr_eval.md')).read().strip()
