"""Upscaling whole images of any mode with a trained SR generator, tile by tile.

RGB goes through the generator. Grayscale is replicated to RGB, upscaled and converted back
to luma. An alpha channel (RGBA, LA, transparent palettes) is upscaled with MATLAB bicubic
and reattached. 16-bit, 32-bit and float images are refused (convert them to 8 bits first).
The command line is `python -m jaxgan.upscale`.
"""

import numpy as np
from PIL import Image

from jaxgan.data.imresize import imresize
from jaxgan.sr import evaluate
from jaxgan.sr.tiling import upscale_tiled

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
