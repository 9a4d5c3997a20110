"""Upscales one image with a trained SR generator, tile by tile so memory stays bounded.

  python -m jaxgan.upscale --workdir=runs/srresnet_photos input.png output.png

RGB goes through the generator. Grayscale is replicated to RGB, upscaled and converted back
to luma. An alpha channel (RGBA, LA, transparent palettes) is upscaled with MATLAB bicubic
and reattached. 16-bit, 32-bit and float images are refused (convert them to 8 bits first).
Tiles overlap by `--overlap` LR pixels, so seams are invisible (see jaxgan/tiling.py).
"""

import os

import numpy as np
from absl import app, flags
from PIL import Image

from jaxgan.data.imresize import imresize
from jaxgan.sr import evaluate
from jaxgan.tiling import upscale_tiled

FLAGS = flags.FLAGS


def define_flags():
  """Flags of the command line only: importing this module defines none."""
  flags.DEFINE_string('workdir', None, 'Workdir of a trained SR run (task sr).')
  flags.DEFINE_integer('tile', 128, 'LR tile side: memory grows with tile**2, not the image.')
  flags.DEFINE_integer('overlap', 32, 'LR pixels shared by neighbouring tiles.')
  flags.DEFINE_boolean('self_ensemble', False, 'Average the 8 flips/rotations (EDSR+): 8x the '
                       'time, slightly higher PSNR.')


# PIL modes converted losslessly (or by PIL's standard conversion) to 8-bit RGB(A) or L(A).
_COLOUR_MODES = {'RGB': 'RGB', 'RGBA': 'RGBA', 'L': 'L', 'LA': 'LA', '1': 'L', 'CMYK': 'RGB',
                 'YCbCr': 'RGB', 'LAB': 'RGB', 'HSV': 'RGB', 'RGBX': 'RGB', 'RGBa': 'RGBA',
                 'La': 'LA', 'PA': 'RGBA'}


def normalise_mode(image: Image.Image) -> Image.Image:
  """8-bit RGB, RGBA, L or LA; refuses what cannot be converted without losing precision."""
  if image.mode == 'P':
    return image.convert('RGBA' if 'transparency' in image.info else 'RGB')
  if image.mode not in _COLOUR_MODES:
    raise ValueError(
        f'Images of PIL mode {image.mode!r} (16-bit, 32-bit or float) are not supported: the '
        f'generator was trained on 8-bit images. Convert it to 8-bit RGB first, e.g. '
        f'Image.open(path).convert("RGB").save(...) or ImageMagick: convert in.png -depth 8 '
        f'out.png.')
  return image.convert(_COLOUR_MODES[image.mode])


def upscale_array(upscaler: evaluate.Upscaler, rgb: np.ndarray, scale: int, tile: int,
                  overlap: int) -> np.ndarray:
  """uint8 (H, W, 3) -> uint8 (H*scale, W*scale, 3) through the generator, tiled."""
  sr = upscale_tiled(upscaler, rgb.astype(np.float32) / 255.0, scale, tile=tile,
                     overlap=overlap)
  return evaluate.to_uint8_01((sr + 1.0) / 2.0)


def upscale_image(upscaler: evaluate.Upscaler, image: Image.Image, scale: int, tile: int = 128,
                  overlap: int = 32) -> Image.Image:
  image = normalise_mode(image)
  pixels = np.asarray(image)
  pixels = pixels[..., None] if pixels.ndim == 2 else pixels
  colour, alpha = (pixels[..., :3], pixels[..., 3:]) if image.mode == 'RGBA' else (
      (pixels[..., :1], pixels[..., 1:]) if image.mode in ('L', 'LA') else (pixels, None))
  rgb = np.repeat(colour, 3, axis=-1) if colour.shape[-1] == 1 else colour
  out = Image.fromarray(upscale_array(upscaler, rgb, scale, tile, overlap))
  if image.mode in ('L', 'LA'):
    out = out.convert('L')
  if alpha is not None and alpha.shape[-1]:
    h, w = alpha.shape[:2]
    big_alpha = imresize(alpha[..., 0], output_shape=(h * scale, w * scale))
    out.putalpha(Image.fromarray(big_alpha))
  return out


def main(argv):
  if len(argv) != 3:
    raise app.UsageError('Usage: python -m jaxgan.upscale --workdir=W input.png output.png')
  if not FLAGS.workdir:
    raise app.UsageError('--workdir (a trained SR run, e.g. runs/srresnet_photos) is required.')
  source, target = argv[1:]
  if not os.path.exists(source):
    raise app.UsageError(f'Input image {source!r} does not exist.')
  config, upscaler = evaluate.restore_generator(FLAGS.workdir)
  if FLAGS.self_ensemble:
    upscaler = evaluate.self_ensemble(upscaler)
  with Image.open(source) as image:
    result = upscale_image(upscaler, image, config.model.scale, FLAGS.tile, FLAGS.overlap)
  result.save(target)
  print(f'{source} ({image.size[0]}x{image.size[1]}) -> {target} '
        f'({result.size[0]}x{result.size[1]}), {config.model.scale}x with {config.name}')


if __name__ == '__main__':
  define_flags()
  app.run(main)
