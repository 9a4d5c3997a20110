"""Upscales one image with a trained SR generator, tile by tile so memory stays bounded.

  python -m jaxgan.upscale --workdir=runs/srresnet_photos input.png output.png

RGB goes through the generator. Grayscale is replicated to RGB, upscaled and converted back
to luma. An alpha channel (RGBA, LA, transparent palettes) is upscaled with MATLAB bicubic
and reattached. 16-bit, 32-bit and float images are refused (convert them to 8 bits first).
Tiles overlap by `--overlap` LR pixels, so seams are invisible (see jaxgan/sr/tiling.py).
"""

import os

from absl import app, flags
from PIL import Image

from jaxgan.run import cli
from jaxgan.sr import evaluate
from jaxgan.sr.upscale import upscale_image

FLAGS = flags.FLAGS


def define_flags():
  """Flags of the command line only: importing this module defines none."""
  flags.DEFINE_string('workdir', None, 'Workdir of a trained SR run (task sr).')
  flags.DEFINE_integer('tile', 128, 'LR tile side: memory grows with tile**2, not the image.')
  flags.DEFINE_integer('overlap', 32, 'LR pixels shared by neighbouring tiles.')
  flags.DEFINE_boolean('self_ensemble', False, 'Average the 8 flips/rotations (EDSR+): 8x the '
                       'time, slightly higher PSNR.')


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
  cli.run(main, define_flags)
