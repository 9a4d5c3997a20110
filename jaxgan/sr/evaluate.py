"""PSNR/SSIM of a trained SR generator against bicubic, as SR papers report them.

Protocol (SRCNN/SRGAN/EDSR): HR is `modcrop`ped to a multiple of the scale, LR is MATLAB
`imresize(hr, 1/scale)` in uint8, predictions are rounded to uint8, and PSNR/SSIM are taken on
the Y channel of MATLAB's `rgb2ycbcr` after cropping `scale` pixels from every border.

  python -m jaxgan.evaluate --workdir=runs/srresnet_div2k --sr_eval=data/Set5,data/Set14
"""

import json
import os
from collections.abc import Callable, Sequence

import jax
import ml_collections
import numpy as np

from jaxgan.data import photos
from jaxgan.data.errors import DataError
from jaxgan.data.imresize import bicubic_downsample, imresize, modcrop
from jaxgan.data.sources import list_images, load_image
from jaxgan.metrics.image_quality import detail_ratio, psnr, ssim
from jaxgan.sr import state as state_lib
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.state import apply, restore_run

# NHWC LR float32 in [0, 1] -> NHWC SR float32 in about [-1, 1].
Upscaler = Callable[[np.ndarray], np.ndarray]


def make_upscaler(g_graph, g_params, g_stats) -> Upscaler:
  """The generator in inference mode (BatchNorm running statistics), jitted."""
  forward = jax.jit(lambda p, s, x: apply(g_graph, p, s, x, train=False)[0])
  return lambda lr: np.asarray(forward(g_params, g_stats, lr))


def self_ensemble(upscaler: Upscaler) -> Upscaler:
  """The geometric self-ensemble of EDSR+ (Lim et al. 2017): the mean of the upscaler's outputs
  on the 8 flips and rotations of the input, each transformed back.

  8 forward passes for typically +0.05-0.2 dB PSNR; SR papers mark such numbers with a '+'.
  """
  def ensembled(lr: np.ndarray) -> np.ndarray:
    total = None
    for k in range(4):
      for flip in (False, True):
        x = np.rot90(lr, k, axes=(1, 2))
        x = x[:, :, ::-1] if flip else x
        y = np.asarray(upscaler(np.ascontiguousarray(x)), np.float32)
        y = np.rot90(y[:, :, ::-1] if flip else y, -k, axes=(1, 2))
        total = y if total is None else total + y
    return total / 8.0
  return ensembled


def restore_state(workdir: str):
  """(config, models, state) of the latest checkpoint of the SR run in `workdir`."""
  return restore_run(state_lib.create, 'sr', workdir)


def restore_generator(workdir: str) -> tuple[ml_collections.ConfigDict, Upscaler]:
  """(config, upscaler) of the latest checkpoint of the SR run in `workdir`."""
  config, models, state = restore_state(workdir)
  return config, make_upscaler(models.g_graph, state.g_params, state.g_stats)


def to_uint8_01(x) -> np.ndarray:
  return np.clip(np.round(np.asarray(x, np.float32) * 255.0), 0, 255).astype(np.uint8)


def super_resolve(upscaler: Upscaler, lr: np.ndarray) -> np.ndarray:
  """uint8 (h, w, 3) LR -> uint8 (h*s, w*s, 3), the whole image in one pass."""
  sr = upscaler(lr[None].astype(np.float32) / 255.0)[0]
  return to_uint8_01((sr + 1.0) / 2.0)


def bicubic_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
  return imresize(lr, output_shape=(lr.shape[0] * scale, lr.shape[1] * scale))


def score(prediction: np.ndarray, hr: np.ndarray, scale: int) -> dict[str, float]:
  kw = dict(data_range=255.0, crop_border=scale, y_channel=True)
  a, b = prediction.astype(np.float32), hr.astype(np.float32)
  return dict(psnr=float(psnr(a, b, **kw)), ssim=float(ssim(a, b, **kw)),
              detail=float(detail_ratio(a, b, **kw)))


def evaluate_images(images: Sequence[tuple[str, np.ndarray]], upscalers: dict[str, Upscaler],
                    scale: int) -> list[dict]:
  """One row per (image, method): bicubic first, then each upscaler, on uint8 HR images."""
  rows = []
  for name, image in images:
    hr = modcrop(image, scale)
    lr = bicubic_downsample(hr, scale)
    predictions = {'bicubic': bicubic_upscale(lr, scale)}
    predictions |= {method: super_resolve(up, lr) for method, up in upscalers.items()}
    rows += [dict(image=name, method=m, **score(p, hr, scale)) for m, p in predictions.items()]
  return rows


def folder_images(path: str) -> list[tuple[str, np.ndarray]]:
  try:
    files = list_images(path)
  except DataError as e:
    raise DataError(f'--sr_eval: {e} Lay out Set5/Set14/BSD100 as folders of HR images.') from None
  return [(os.path.relpath(f, path), load_image(f, 3)) for f in files]


def photo_images() -> list[tuple[str, np.ndarray]]:
  return [(p.name, p.image) for p in photos.eval_photos()]


def mean_rows(rows: list[dict], dataset: str) -> list[dict]:
  methods = dict.fromkeys(r['method'] for r in rows)
  return [dict(dataset=dataset, method=m, images=sum(r['method'] == m for r in rows),
               **{k: float(np.mean([r[k] for r in rows if r['method'] == m]))
                  for k in ('psnr', 'ssim', 'detail')})
          for m in methods]


def format_table(rows: list[dict], first: str) -> str:
  """A markdown table: `first` column (image or dataset), method, PSNR, SSIM, detail ratio."""
  lines = [f'| {first} | method | PSNR (dB, Y) | SSIM (Y) | detail (Y, HR = 1) |',
           '|---|---|---|---|---|']
  lines += [f"| {r[first]} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
            f"{r['detail']:.3f} |" for r in rows]
  return '\n'.join(lines)


def sr_eval(workdir: str, folders: Sequence[str], name: str | None = None,
            ensemble: bool = False) -> list[dict]:
  """Evaluates the run in `workdir` on HR image folders; prints and saves the tables.

  Writes `<workdir>/sr_eval.md` (per data set means, then per image) and `sr_eval.json`.
  `ensemble` adds the self-ensemble as method '<name>+'. Returns the per-data-set mean rows.
  """
  config, upscaler = restore_generator(workdir)
  name = name or config.name
  upscalers = {name: upscaler} | ({f'{name}+': self_ensemble(upscaler)} if ensemble else {})
  means, per_image = [], []
  for folder in folders:
    dataset = os.path.basename(os.path.normpath(folder))
    rows = evaluate_images(folder_images(folder), upscalers, config.model.scale)
    means += mean_rows(rows, dataset)
    per_image += [dict(r, dataset=dataset) for r in rows]
  text = (f'{config.model.scale}x super-resolution, Y channel, border {config.model.scale}\n\n'
          + format_table(means, 'dataset') + '\n\n'
          + format_table(per_image, 'image') + '\n')
  print(text)
  (workdir_lib.path(workdir) / 'sr_eval.md').write_text(text)
  (workdir_lib.path(workdir) / 'sr_eval.json').write_text(
      json.dumps(dict(means=means, images=per_image), indent=2))
  return means
