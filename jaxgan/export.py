"""Takes a trained generator out of the project: StableHLO (jax.export) and a TF SavedModel.

  python -m jaxgan.export --workdir=runs/dcgan_fashion --out=exported/dcgan_fashion

writes, for the (EMA) generator of the run's latest checkpoint (--step, --noema as jaxgan.sample):
  generator.stablehlo   jax.export's serialized module: noise (N, z_dim) float32 [, labels (N,)
                        int32] -> images (N, H, W, C) uint8; N is symbolic (any batch size).
  saved_model/          the same function through jax2tf, signature `serving_default`.
  export.json, README.md  the inputs and outputs, the run, the step and how to call both.

Both give jaxgan.sample's images for the same noise: `jaxgan.sample --out=S.npz` stores the
noise it drew (`noise`) and the labels. The weights are constants of the StableHLO module and
variables of the SavedModel; neither needs jaxgan to run.
"""

import json
import os

from absl import app, flags
import jax
import jax.numpy as jnp
import numpy as np
from etils import epath

from jaxgan.gan import class_conditional, generate, steps
from jaxgan.run import cli

FLAGS = flags.FLAGS
STABLEHLO = 'generator.stablehlo'
SAVED_MODEL = 'saved_model'


def define_flags():
  flags.DEFINE_string('workdir', None, 'Working directory of a trained GAN run.', required=True)
  flags.DEFINE_string('out', None, 'Output directory of the exported generator.', required=True)
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_bool('ema', True, 'Export the EMA generator (--noema: the raw one).')
  flags.DEFINE_list('platforms', None, 'Platforms the StableHLO module runs on, e.g. cpu,cuda '
                    '(default: this machine\'s).')
  flags.DEFINE_bool('saved_model', True, 'Also write a TF SavedModel (needs tensorflow).')


def images_fn(gan):
  """(weights, z[, labels]) -> uint8 NHWC images, the rounding of jaxgan.data.transforms.to_uint8."""

  def fn(weights, z, *labels):
    params, stats = weights
    x = steps.generate(gan, params, stats, z, train=False, labels=labels[0] if labels else None)[0]
    return jnp.clip(jnp.round((x.astype(jnp.float32) + 1.0) * 127.5), 0, 255).astype(jnp.uint8)

  return fn


def input_specs(z_dim: int, conditional: bool, batch: str = 'n'):
  """jax.ShapeDtypeStructs of the inputs with a symbolic batch size."""
  (n,) = jax.export.symbolic_shape(batch)
  specs = [jax.ShapeDtypeStruct((n, z_dim), jnp.float32)]
  if conditional:
    specs.append(jax.ShapeDtypeStruct((n,), jnp.int32))
  return specs


def export_stablehlo(fn, weights, specs, platforms=None) -> bytes:
  """jax.export of fn with the weights closed over (constants of the module)."""
  exported = jax.export.export(jax.jit(lambda *inputs: fn(weights, *inputs)),
                               platforms=platforms)(*specs)
  return exported.serialize()


def export_saved_model(fn, weights, z_dim: int, conditional: bool, path: str) -> None:
  """jax2tf of fn, its weights as tf.Variables, signature serving_default(noise[, labels])."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from jax.experimental import jax2tf  # pylint: disable=g-import-not-at-top

  leaves, treedef = jax.tree.flatten(weights)
  polymorphic = ['(n, _)'] + (['(n,)'] if conditional else [])
  converted = jax2tf.convert(lambda leaves, *inputs: fn(jax.tree.unflatten(treedef, leaves),
                                                       *inputs),
                             polymorphic_shapes=[None] + polymorphic, with_gradient=False)
  module = tf.Module()
  module.weights = [tf.Variable(np.asarray(x), trainable=False) for x in leaves]
  signature = [tf.TensorSpec((None, z_dim), tf.float32, name='noise')]
  if conditional:
    signature.append(tf.TensorSpec((None,), tf.int32, name='labels'))

  @tf.function(autograph=False, input_signature=signature)
  def serving_default(*inputs):
    return {'images': converted(module.weights, *inputs)}

  module.serving_default = serving_default
  tf.saved_model.save(module, path, signatures={'serving_default': serving_default})


def describe(config, step: int, use_ema: bool, image_shape, class_names, workdir: str) -> dict:
  conditional = bool(class_conditional.num_classes(config))
  return {
      'run': config.name, 'workdir': workdir, 'step': step, 'ema': use_ema,
      'inputs': {'noise': {'shape': ['N', config.model.z_dim], 'dtype': 'float32',
                           'distribution': 'standard normal'}}
                | ({'labels': {'shape': ['N'], 'dtype': 'int32',
                               'classes': list(class_names)}} if conditional else {}),
      'outputs': {'images': {'shape': ['N', *image_shape], 'dtype': 'uint8', 'range': [0, 255]}},
      'files': {'stablehlo': STABLEHLO, 'saved_model': SAVED_MODEL},
  }


README = """# Exported generator of `{run}` (step {step}{ema})

Inputs: `noise` float32 (N, {z_dim}), standard normal{labels_line}. Output: `images` uint8
(N, {shape}), NHWC in [0, 255]. N is any batch size. Details in `export.json`.

StableHLO (`{stablehlo}`, needs only jax):

    import jax, numpy as np
    exported = jax.export.deserialize(open('{stablehlo}', 'rb').read())
    images = exported.call(np.random.randn(16, {z_dim}).astype(np.float32){labels_arg})

"""
SAVED_MODEL_README = """
TensorFlow SavedModel (`{saved_model}/`, signature `serving_default`):

    import tensorflow as tf
    f = tf.saved_model.load('{saved_model}').signatures['serving_default']
    images = f(noise=tf.random.normal([16, {z_dim}]){labels_kw})['images']
"""


def write_readme(out: epath.Path, info: dict) -> None:
  noise, labels = info['inputs']['noise'], info['inputs'].get('labels')
  text = (README + (SAVED_MODEL_README if 'saved_model' in info['files'] else '')).format(
      run=info['run'], step=info['step'], ema=', EMA' if info['ema'] else '',
      z_dim=noise['shape'][1], shape=', '.join(map(str, info['outputs']['images']['shape'][1:])),
      labels_line=(f', and `labels` int32 (N,), classes 0..{len(labels["classes"]) - 1} '
                   f'({", ".join(labels["classes"])})') if labels else '',
      labels_arg=', np.zeros(16, np.int32)' if labels else '',
      labels_kw=', labels=tf.zeros([16], tf.int32)' if labels else '',
      stablehlo=STABLEHLO, saved_model=SAVED_MODEL)
  (out / 'README.md').write_text(text)


def export_run(workdir: str, out: str, step: int | None = None, use_ema: bool = True,
               platforms=None, saved_model: bool = True) -> dict:
  """Exports the run's generator to `out`; returns export.json's contents."""
  config, gan, state, standing = generate.load_run(workdir, step)
  conditional = bool(class_conditional.num_classes(config))
  weights = generate.sampling_generator(config, gan, state, use_ema, standing)
  weights = jax.tree.map(np.asarray, jax.device_get(weights))
  fn = images_fn(gan)
  specs = input_specs(config.model.z_dim, conditional)
  image_shape = jax.eval_shape(lambda *s: fn(weights, *s),
                               *input_specs(config.model.z_dim, conditional, '1'))
  if len(image_shape.shape) != 4:
    raise app.UsageError(f'{workdir!r} generates points {image_shape.shape[1:]}, not images: '
                         'only image generators are exported.')
  out_path = epath.Path(out)
  out_path.mkdir(parents=True, exist_ok=True)
  (out_path / STABLEHLO).write_bytes(export_stablehlo(fn, weights, specs, platforms))
  if saved_model:
    export_saved_model(fn, weights, config.model.z_dim, conditional, os.fspath(out_path /
                                                                                SAVED_MODEL))
  names = class_conditional.class_names(config) if conditional else ()
  info = describe(config, int(state.step), use_ema and config.model.ema_decay > 0,
                  image_shape.shape[1:], names, workdir)
  if not saved_model:
    del info['files']['saved_model']
  (out_path / 'export.json').write_text(json.dumps(info, indent=2))
  write_readme(out_path, info)
  return info


def main(argv):
  del argv
  info = export_run(FLAGS.workdir, FLAGS.out, FLAGS.step, FLAGS.ema, FLAGS.platforms,
                    FLAGS.saved_model)
  print(f'Exported the generator of {FLAGS.workdir} (step {info["step"]}) to {FLAGS.out}: '
        + ', '.join(info['files'].values()))


if __name__ == '__main__':
  cli.run(main, define_flags)
