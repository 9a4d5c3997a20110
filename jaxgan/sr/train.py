"""The SR training loop: build, restore or initialise, step, log, evaluate, checkpoint.

SRGAN starts from a trained SRResNet (`sr.init_from`, the SRResNet run's workdir), as in the
paper: its generator weights and BatchNorm statistics replace the random initialisation; the
discriminator and both optimizers start fresh. At the end the run scores the held-out photos
against bicubic (`photos_eval.md`) and saves a side-by-side `comparison.png`
(bicubic | initial SRResNet, if any | this run | HR).
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from flax import nnx

from jaxgan import images
from jaxgan.data import pipeline
from jaxgan.run import console, feed, guards, loop, preemption, sharding
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.state import build_state
from jaxgan.models import vgg as vgg_lib
from jaxgan.sr import data, evaluate, state as state_lib, steps
from jaxgan.data.imresize import bicubic_downsample, modcrop

# (top, left) of the 96x96 HR crops shown in comparison.png: textured regions (hair, fur, foam).
COMPARISON_CROPS = {'astronaut': (40, 180), 'chelsea': (60, 130), 'coffee': (40, 240)}
COMPARISON_SIZE = 96


def load_vgg(config: ml_collections.ConfigDict):
  """(graph, state) of the frozen ImageNet VGG19 for the perceptual loss, or (None, {})."""
  if config.sr.content_loss != 'vgg':
    return None, {}
  try:
    vgg = vgg_lib.pretrained_vgg19(config.sr.vgg_weights or None,
                                   pre_activation=config.sr.vgg_pre_activation)
  except vgg_lib.WeightsNotFoundError as e:
    raise vgg_lib.WeightsNotFoundError(
        f'sr.content_loss=vgg needs ImageNet VGG19 weights: {e} Set --config.sr.vgg_weights='
        f'PATH, or train without them: --config.sr.content_loss=mse.') from None
  graph, vgg_state = nnx.split(vgg)
  return graph, nnx.to_pure_dict(vgg_state)


def check_no_gan_evals(config: ml_collections.ConfigDict) -> None:
  """The SR loop runs no GAN evaluators: refuse config.evals rather than ignore it."""
  if config.get('evals'):
    raise ValueError(
        f'config.evals={sorted(config.evals)} are GAN evaluators; the SR loop does not run them. '
        f'SR runs score the held-out photos every eval_every steps and at the end '
        f'(sr.eval_photos), and python -m jaxgan.evaluate --workdir=W --sr_eval=DIR scores '
        f'folders of HR images. Remove config.evals.')


def check_init_from(config: ml_collections.ConfigDict) -> None:
  """Fails at start-up, before any data or model is built, when sr.init_from is missing."""
  path = config.sr.init_from
  if path and not (workdir_lib.path(path) / 'config.json').exists():
    raise FileNotFoundError(
        f'sr.init_from={path!r} is not a finished SRResNet run. Pre-train one first, e.g. '
        f'python -m jaxgan.main --config=configs/srresnet_photos.py --workdir={path} '
        f'(or set --config.sr.init_from to its workdir; "" trains from scratch).')


def initial_generator(config: ml_collections.ConfigDict):
  """(config, models, state) of the SRResNet run named by sr.init_from, checked to fit."""
  path = config.sr.init_from
  check_init_from(config)
  init_config, models, init_state = evaluate.restore_state(path)
  for field in ('name', 'scale', 'num_blocks', 'g_features', 'channels'):
    if init_config.model[field] != config.model[field]:
      raise ValueError(f'sr.init_from={path!r} has model.{field}={init_config.model[field]}, '
                       f'this config has {config.model[field]}: they must match.')
  return init_config, models, init_state


def comparison_picture(upscalers: dict, scale: int) -> np.ndarray:
  """Rows of held-out crops: bicubic | each upscaler | HR, enlarged 2x (nearest) to see texture."""
  rows = []
  for name, image in evaluate.photo_images():
    top, left = COMPARISON_CROPS.get(name, (0, 0))
    hr = modcrop(image[top:top + COMPARISON_SIZE, left:left + COMPARISON_SIZE], scale)
    lr = bicubic_downsample(hr, scale)
    columns = [evaluate.bicubic_upscale(lr, scale)]
    columns += [evaluate.super_resolve(up, lr) for up in upscalers.values()]
    rows.append(np.stack(columns + [hr]))
  tiles = np.concatenate(rows).repeat(2, axis=1).repeat(2, axis=2)
  return images.make_grid(tiles.astype(np.float32) / 127.5 - 1.0, columns=len(rows[0]))


def write_eval_scalars(writer, step: int, rows: list[dict]) -> None:
  writer.write_scalars(step, {f'eval_{r["method"]}_{metric}_{r["image"]}': r[metric]
                              for r in rows for metric in ('psnr', 'ssim', 'detail')})
  means = evaluate.mean_rows(rows, 'held-out photos')
  console.line(f'step {step:,} eval (held-out photos, mean): ' + ', '.join(
      f'{r["method"]} {r["psnr"]:.2f} dB / SSIM {r["ssim"]:.4f} / detail {r["detail"]:.3f}'
      for r in means))


def final_report(config, workdir, writer, step, upscalers: dict) -> list[dict]:
  """Scores the held-out photos, saves photos_eval.md and comparison.png, logs eval scalars."""
  rows = evaluate.evaluate_images(evaluate.photo_images(), upscalers, config.model.scale)
  table = evaluate.format_table(rows, 'image')
  logging.info('Held-out photos (Y channel, border %d):\n%s', config.model.scale, table)
  workdir = workdir_lib.path(workdir)
  (workdir / 'photos_eval.md').write_text(
      f'columns of comparison.png: bicubic | {" | ".join(upscalers)} | HR\n\n{table}\n')
  picture = comparison_picture(upscalers, config.model.scale)
  images.save_png(workdir / 'comparison.png', picture)
  console.line(f'Held-out photos: {workdir / "photos_eval.md"}, {workdir / "comparison.png"}')
  writer.write_images(step, {'comparison': picture[None]})
  write_eval_scalars(writer, step, rows)
  return rows


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str):
  """Trains the SR `config` in `workdir`, resuming from its latest checkpoint.

  As the GAN loop: the config is checked against the checkpoint's, SIGTERM/SIGINT save and
  raise preemption.Preempted, and config.nonfinite handles a NaN/Inf loss or gradient.
  """
  check_no_gan_evals(config)  # Before the workdir (and its log file) is made.
  check_init_from(config)
  return loop.train_with_recovery(train_run, config, workdir)


def train_run(config: ml_collections.ConfigDict, workdir: str, stop: preemption.StopSignal,
              poisoned: set[int]):
  run = loop.open_run(config, workdir)
  config, mesh = run.config, run.mesh
  source = data.build_source(config)
  dataset = data.build_dataset(config, source, jax.process_index(), jax.process_count())
  iterator = pipeline.make_iterator(config, dataset)
  models, abstract_state, init = build_state(state_lib.create, config, mesh)
  vgg_graph, vgg_state = load_vgg(config)
  state = run.restore_or_init(abstract_state, init, iterator)
  init_upscalers = {}
  if config.sr.init_from:
    init_config, init_models, init_state = initial_generator(config)
    init_upscalers[init_config.name] = evaluate.make_upscaler(
        init_models.g_graph, init_state.g_params, init_state.g_stats)
    if int(state.step) == 0:
      # Copies: the step donates the state's buffers, and the initial upscaler keeps these.
      state = state.replace(g_params=jax.tree.map(jnp.copy, init_state.g_params),
                            g_stats=jax.tree.map(jnp.copy, init_state.g_stats))
      logging.info('Generator initialised from %s.', config.sr.init_from)
  train_step = loop.make_jitted_step(
      config, guards.guarded(steps.make_train_step(config, models, vgg_graph), config.nonfinite),
      abstract_state, mesh, batch_axis=0, extra_shardings=(sharding.replicated(mesh),))
  feed.check_periods(config, dict(log_every=config.log_every, eval_every=config.eval_every,
                                  checkpoint_every=config.checkpoint_every))
  tail = loop.Tail(run, stop, poisoned)

  def upscaler(state):
    return evaluate.make_upscaler(models.g_graph, state.g_params, state.g_stats)

  def on_step(step, state, data_state):
    if config.eval_every and step % config.eval_every == 0 and step < config.num_steps:
      rows = evaluate.evaluate_images(evaluate.photo_images(), {config.name: upscaler(state)},
                                      config.model.scale)
      write_eval_scalars(tail.writer, step, rows)

  state = tail.train(state, iterator, train_step, batch_axis=0, extra_args=(vgg_state,),
                     on_step=on_step)
  if loop.is_main_process() and config.sr.eval_photos:
    final_report(config, workdir, tail.writer, config.num_steps,
                 init_upscalers | {config.name: upscaler(state)})
  tail.finish()
  return state
