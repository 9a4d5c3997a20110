"""Evaluators by name, in training and on checkpoints; the collapse monitor; stats; the report."""

import os
import shutil
import sys

import ml_collections
import numpy as np
import pytest
from PIL import Image

from testlib import build_gan, fake_inception_state_dict, get_config, read_scalars, tiny
from jaxgan import evaluate, images, report
from jaxgan.data import gaussians, sources
from jaxgan.data.digits import digits_split
from jaxgan.gan import evaluators, generate, train
from jaxgan.metrics import classifier, fid, prdc, stats
from jaxgan.models import inception
from jaxgan.run import sharding


@pytest.fixture
def stats_cache(tmp_path, monkeypatch):
  """A fresh statistics cache; the digits classifier is copied in so it is not retrained."""
  cache = tmp_path / 'cache'
  cache.mkdir()
  trained = classifier.cache_path(classifier.IMAGE_SIZE)
  if trained.exists():
    shutil.copy(trained, cache / trained.name)
  monkeypatch.setenv('JAXGAN_CACHE', str(cache))
  return cache


def test_every_evaluator_is_a_module_found_by_name():
  assert evaluators.names() == ('class_agreement', 'class_coverage', 'digits_confident',
                                'digits_fd', 'diversity', 'fashion', 'fashion_plain', 'fid', 'is',
                                'kid', 'mode_coverage', 'prdc')
  for name in evaluators.names():
    module = evaluators.get(name)
    assert module.METRICS and set(module.METRICS.values()) <= {'min', 'max'}, name
    assert isinstance(module.NUM_SAMPLES, int) and isinstance(module.OPTIONS, frozenset), name
    assert callable(module.build), name
  assert evaluators.get('is').METRICS == {'is': 'max', 'is_std': 'min'}  # is_.py: a keyword.
  with pytest.raises(ValueError, match=r"Unknown evaluator 'specs'.*'digits_fd'"):
    evaluators.get('specs')  # The package's machinery is no evaluator.
  assert [evaluators.metric_mode(m) for m in ('fid', 'kid_std_raw', 'is', 'class_agreement/3',
                                              'class_agreement/3_raw')] == ['min'] * 2 + ['max'] * 3
  with pytest.raises(ValueError, match=r"Unknown metric 'fdi'.*'digits_fd'"):
    evaluators.metric_mode('fdi')


def test_a_new_evaluator_is_one_module_file(tmp_path, monkeypatch):
  (tmp_path / 'pixel_mean.py').write_text(
      "METRICS = {'pixel_mean': 'max'}\n"
      'NUM_SAMPLES = 4\n'
      "OPTIONS = frozenset({'offset'})\n"
      'def build(config, options):\n'
      "  return lambda s: {'pixel_mean': float(s.outputs.mean()) + options.get('offset', 0)}\n")
  monkeypatch.setattr(evaluators, '__path__', [*evaluators.__path__, str(tmp_path)])
  monkeypatch.delitem(sys.modules, 'jaxgan.gan.evaluators.pixel_mean', raising=False)
  evaluators.names.cache_clear()
  try:
    config = get_config('dcgan_digits')
    config.evals = ml_collections.ConfigDict({'pixel_mean': dict(every=2, offset=1)})
    specs = evaluators.parse_specs(config)
    assert specs[0].num_samples == 4 and specs[0].options == {'offset': 1}
    score = evaluators.build(config, specs)['pixel_mean']
    assert score(evaluators.Samples(np.zeros((4, 2, 2, 1)))) == {'pixel_mean': 1.0}
    assert evaluators.metric_mode('pixel_mean_raw') == 'max'
    assert evaluators.protocol('pixel_mean', config, {}) == {}  # protocol() is optional.
  finally:
    evaluators.names.cache_clear()


def test_unknown_names_and_fields_fail_with_the_valid_ones():
  config = get_config('dcgan_digits')
  config.evals.fdi = dict(every=10)
  with pytest.raises(ValueError, match=r"Unknown evaluator 'fdi'.*'digits_fd'"):
    evaluators.parse_specs(config)
  config = get_config('dcgan_digits')
  config.evals.digits_fd = dict(every=10, num_sample=5)
  with pytest.raises(ValueError, match=r'unknown fields \[.num_sample.\].*num_samples'):
    evaluators.parse_specs(config)


def test_evaluators_refuse_data_they_cannot_score():
  config = get_config('gan_grid25')
  config.evals.digits_fd = dict(every=10)
  with pytest.raises(ValueError, match='digits_fd needs data.name=digits'):
    evaluators.build(config, evaluators.parse_specs(config))
  config = get_config('dcgan_digits')
  config.evals.mode_coverage = dict(every=10)
  with pytest.raises(ValueError, match='mode_coverage needs a 2-D mixture'):
    evaluators.build(config, evaluators.parse_specs(config))


def test_fid_without_weights_fails_at_start_up(tmp_path, monkeypatch, workdir):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path / 'empty'))
  config = tiny(get_config('dcgan_digits'))
  config.evals.fid = dict(every=2)
  with pytest.raises(inception.WeightsNotFoundError, match='pt_inception-2015-12-05'):
    train.train_and_evaluate(config, workdir)
  assert not os.path.exists(os.path.join(workdir, 'checkpoints', '2'))  # Never trained.


def test_best_metric_must_be_computed():
  config = tiny(get_config('dcgan_digits'))
  config.evals = ml_collections.ConfigDict({'class_coverage': dict(every=2)})
  config.best_metric = 'digits_fd'
  with pytest.raises(ValueError, match="best_metric='digits_fd' is not computed"):
    evaluators.Evaluation(config, None, None, '/nonexistent')


def test_mode_coverage_evaluator_on_known_points():
  config = get_config('wgan_gp_grid25')
  score = evaluators.get('mode_coverage').build(config, {})
  centres, std = gaussians.MIXTURES['grid25']
  exact = evaluators.Samples(np.repeat(centres[:20], 2, axis=0))  # 20 of 25 modes.
  assert score(exact) == {'modes_covered': 20, 'high_quality': 1.0}
  far = evaluators.Samples(np.concatenate([centres[:5], centres[:5] + 4 * std]))
  assert score(far) == {'modes_covered': 5, 'high_quality': 0.5}


def test_digits_evaluators_pass_real_digits_and_fail_blanks(stats_cache):
  """digits_confident, class_coverage and prdc by name: held-out real digits pass, blanks
  fail (the classifier's own tests cover blobs, noise and averaged pairs)."""
  config = get_config('dcgan_digits')
  score = {name: evaluators.get(name).build(config, {})
           for name in ('digits_confident', 'class_coverage', 'prdc')}
  real = evaluators.Samples(digits_split(16, 'train')[0][:500])
  blank = evaluators.Samples(np.full((500, 16, 16, 1), -1.0, np.float32))
  assert score['digits_confident'](real)['digits_confident'] >= 0.9
  assert score['digits_confident'](blank)['digits_confident'] == 0.0
  assert score['class_coverage'](real)['classes_covered'] == 10
  assert score['class_coverage'](blank)['classes_covered'] == 0
  good, bad = score['prdc'](real), score['prdc'](blank)
  assert good['precision'] >= 0.8 and good['recall'] >= 0.8 and good['coverage'] >= 0.9
  assert max(bad.values()) < 0.1


def test_class_agreement_evaluator_reports_the_worst_class(stats_cache):
  config = get_config('cgan_digits')
  score = evaluators.get('class_agreement').build(config, {})
  images, labels = digits_split(16, 'test')
  right = score(evaluators.Samples(images, labels))
  assert right['class_agreement'] >= 0.9 and right['class_agreement_min'] >= 0.75
  swapped = np.select([labels == 7, labels == 3], [3, 7], labels)  # 3s asked as 7s and back.
  wrong = score(evaluators.Samples(images, swapped))
  assert wrong['class_agreement_min'] <= 0.1 < wrong['class_agreement']


def test_class_agreement_evaluator_scores_every_class(stats_cache):
  """class_agreement/<k>: the share of the samples asked for digit k that the digits classifier
  confidently reads as k, recomputed from the classifier's own readings; an asked 3 drawn as a
  7 (and back) fails those two classes only."""
  config = get_config('cgan_digits')
  score = evaluators.get('class_agreement').build(config, {})
  images, labels = digits_split(16, 'test')
  swapped = np.select([labels == 7, labels == 3], [3, 7], labels)
  predicted, confident = classifier.load_digits_classifier().read(images)
  for asked in (labels, swapped):
    scores = score(evaluators.Samples(images, asked))
    hits = (predicted == asked) & confident
    expected = {f'class_agreement/{k}': float(hits[asked == k].mean()) for k in range(10)}
    assert {k: v for k, v in scores.items() if '/' in k} == pytest.approx(expected)
    assert scores['class_agreement'] == pytest.approx(hits.mean())
    assert scores['class_agreement_min'] == pytest.approx(min(expected.values()))
  assert scores['class_agreement/3'] <= 0.1 and scores['class_agreement/7'] <= 0.1
  assert all(scores[f'class_agreement/{k}'] >= 0.75 for k in range(10) if k not in (3, 7))


def test_prdc_evaluator_on_raw_points_of_a_mixture():
  """On the grid of 25 the real side is a fresh draw of the mixture (not the training one)."""
  config = get_config('wgan_gp_grid25')
  score = evaluators.get('prdc').build(config, {'num_real': 2500})
  fresh = gaussians.sample_mixture('grid25', 2500, seed=123)[0]
  good = score(evaluators.Samples(fresh))
  assert min(good['precision'], good['recall'], good['coverage']) >= 0.9
  centres, std = gaussians.MIXTURES['grid25']
  rng = np.random.default_rng(0)
  five_modes = np.repeat(centres[:5], 500, axis=0) + std * rng.standard_normal((2500, 2))
  dropped = score(evaluators.Samples(five_modes))
  assert dropped['precision'] >= 0.9 and dropped['recall'] < 0.3 and dropped['coverage'] < 0.3


def test_collapse_monitor_warns_on_a_sharp_fall_only():
  monitor = evaluators.CollapseMonitor(drop=0.3)
  # Falling from above the data's own diversity (1.0) down to it is no collapse.
  assert not monitor(1, {'eval_diversity': 1.6, 'eval_modes_covered': 10})
  assert not monitor(2, {'eval_diversity': 0.9, 'eval_modes_covered': 24})
  assert not monitor(3, {'eval_diversity': 0.8, 'eval_modes_covered': 20})  # Within 30%.
  warnings = monitor(4, {'eval_diversity': 0.5, 'eval_modes_covered': 9, 'eval_fid': 1e9})
  assert len(warnings) == 2
  assert 'eval_modes_covered fell to 9 from 24 at step 2' in warnings[1]
  # The fall of diversity counts from the data's level (1), reached at step 1.
  assert 'eval_diversity fell to 0.5 from 1 at step 1' in warnings[0]


def test_training_writes_eval_scalars_keeps_best_and_reports(workdir, stats_cache):
  """A short digits run with evals: scalars for EMA and raw G, the best checkpoint, the
  offline evaluation of the final checkpoint reproducing the logged values, and report.md."""
  config = tiny(get_config('dcgan_digits'), steps=4)
  config.evals = ml_collections.ConfigDict()
  config.evals.digits_fd = dict(every=2, num_samples=64)
  config.evals.class_coverage = dict(every=2, num_samples=64)
  config.evals.diversity = dict(every=4, num_samples=64, raw=False)
  config.evals.prdc = dict(every=2, num_samples=64)
  config.evals.digits_confident = dict(every=2, num_samples=64)
  config.best_metric = 'digits_fd'
  state = train.train_and_evaluate(config, workdir)

  series = report.read_scalars(workdir)
  fd = list(zip(*series['eval_digits_fd']))
  assert [s for s, _ in fd] == [2, 4]
  assert list(series['eval_digits_fd_raw'][0]) == [2, 4]
  assert list(series['eval_diversity'][0]) == [4]
  assert 'eval_diversity_raw' not in series  # raw=False.
  assert all(0 <= v <= 10 for v in series['eval_classes_covered'][1])

  # Independent recomputation of the logged digits FD at the last step.
  mesh = sharding.make_mesh()
  gan, _, _ = build_gan(config, mesh)
  samples = evaluators.make_generator(config, gan, mesh)(state.ema_params, state.g_stats,
                                                         64).outputs
  judge = classifier.load_digits_classifier()
  real = judge.features(digits_split(16, 'train')[0])
  fake = judge.features(samples)
  expected = fid.frechet_distance(fake.mean(0), np.cov(fake, rowvar=False), real.mean(0),
                                  np.cov(real, rowvar=False))
  assert fd[-1][1] == pytest.approx(expected, rel=1e-5)

  # The best checkpoint holds the step with the lowest logged digits FD.
  best_step = min(fd, key=lambda sv: sv[1])[0]
  assert sorted(os.listdir(os.path.join(workdir, 'best'))) == [str(best_step)]
  step, results = evaluate.evaluate_checkpoint(workdir, ['digits_fd'], best=True)
  assert step == best_step and results['digits_fd'] == pytest.approx(dict(fd)[best_step],
                                                                      rel=1e-5)
  # The latest checkpoint, scored offline, gives the values training logged at that step.
  step, results = evaluate.evaluate_checkpoint(workdir, ['digits_fd', 'class_coverage'])
  assert step == 4
  assert results['digits_fd_raw'] == pytest.approx(series['eval_digits_fd_raw'][1][-1],
                                                   rel=1e-5)

  # The PRDC scores logged at the last step, recomputed: the classifier's layout features of
  # the samples against those of the held-out digits.
  expected = prdc.prdc(judge.layout_features(digits_split(16, 'test')[0]),
                       judge.layout_features(samples))
  for metric, value in expected.items():
    assert series[f'eval_{metric}'][1][-1] == pytest.approx(value, rel=1e-6), metric
  assert series['eval_digits_confident'][1][-1] == pytest.approx(
      classifier.digits_confident(judge, samples))

  path = report.write_report(workdir)
  text = open(path).read()
  assert '| eval_digits_fd |' in text and 'report/eval_metrics.png' in text
  assert 'report/real_vs_generated.png' in text and 'report/precision_recall.png' in text
  for png in ('losses.png', 'eval_metrics.png', 'samples_over_time.png', 'precision_recall.png',
              'real_vs_generated.png'):
    assert os.path.getsize(os.path.join(workdir, 'report', png)) > 1000
  # samples/real.png holds real training digits in the sample grids' layout.
  real_grid = np.asarray(Image.open(os.path.join(workdir, 'samples', 'real.png')))
  expected_grid = images.make_grid(train.real_examples(
      sources.build_source(config), config.num_grid_samples))
  np.testing.assert_array_equal(real_grid, expected_grid[..., 0])


def test_stats_round_trip_and_cache(stats_cache, monkeypatch, tmp_path):
  """The stats CLI writes pytorch-fid's layout with the mean and covariance of real features,
  and a second call reads the cache instead of recomputing."""
  out = str(tmp_path / 'digits.npz')
  stats.write_statistics('digits', 'digits', out, image_size=16)
  mu, sigma = fid.load_statistics(tmp_path / 'digits.npz')
  feats = classifier.load_digits_classifier().features(digits_split(16, 'train')[0])
  feats = feats.astype(np.float64)
  np.testing.assert_allclose(mu, feats.mean(0), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(sigma, np.cov(feats, rowvar=False), rtol=1e-4, atol=1e-6)
  cached = list((stats_cache / 'stats').glob('digits-train-16px-1ch-digits.npz'))
  assert len(cached) == 1

  def fail(*args):
    raise AssertionError('recomputed although cached')
  monkeypatch.setattr(stats, 'real_features', fail)
  line = stats.write_statistics('digits', 'digits', out, image_size=16)
  assert line.startswith('1621 digits/train images') and line.endswith(out)


@pytest.mark.slow
def test_mode_coverage_during_a_short_grid25_run(workdir):
  config = get_config('wgan_gp_grid25')
  config.num_steps = 200
  config.sample_every = 200
  config.checkpoint_every = 200
  config.evals.mode_coverage.every = 100
  config.evals.diversity.every = 100
  train.train_and_evaluate(config, workdir)
  modes = read_scalars(workdir, 'eval_modes_covered')
  assert [s for s, _ in modes] == [100, 200]
  # The logged value is the coverage of the checkpoint's samples, recomputed on a second path:
  # the EMA generator module itself on the run's eval noise (not the evaluators' sampler).
  from flax import nnx
  config_, gan, state, _ = generate.load_run(workdir)
  z = generate.fixed_noise(config_, generate.EVAL_NOISE_SALT, 2560)[:2500]
  points = np.asarray(nnx.merge(gan.g_graph, state.ema_params, state.g_stats)(z, train=False))
  centres, std = gaussians.MIXTURES['grid25']
  dist = np.linalg.norm(points[:, None] - centres[None], axis=-1)
  good = dist.min(1) <= 3 * std
  assert modes[-1][1] == len(set(dist.argmin(1)[good]))
  assert read_scalars(workdir, 'eval_high_quality')[-1][1] == pytest.approx(good.mean())


@pytest.mark.slow
def test_fid_kid_is_in_training_with_random_inception_weights(workdir, stats_cache):
  """fid, kid and is run inside training from a weight file in the cache (random weights, no
  download); the logged values equal scipy's FD, a direct KID and the IS formula recomputed
  from the Inception features of the checkpoint's samples and of the real digits."""
  import scipy.linalg
  import scipy.special
  from jaxgan.metrics import features as features_lib
  weights = stats_cache / inception.WEIGHTS_FILE.replace('.pth', '.npz')
  np.savez(weights, **inception.convert_state_dict(fake_inception_state_dict()))
  config = tiny(get_config('dcgan_digits'), steps=2)
  config.evals = ml_collections.ConfigDict()
  size = inception.MIN_INPUT_SIZE  # A small Inception input keeps the test CPU-sized.
  config.evals.fid = dict(every=2, num_samples=40, inception_size=size)
  config.evals.kid = dict(every=2, num_samples=40, inception_size=size, num_subsets=5,
                          subset_size=20)
  config.evals['is'] = dict(every=2, num_samples=40, inception_size=size, splits=4)
  config.evals.prdc = dict(every=2, num_samples=40, inception_size=size, k=3, num_real=300)
  config.best_metric = 'fid'
  state = train.train_and_evaluate(config, workdir)
  assert sorted(os.listdir(os.path.join(workdir, 'best'))) == ['2']
  series = report.read_scalars(workdir)
  for tag in ('eval_fid', 'eval_kid', 'eval_is', 'eval_fid_raw', 'eval_is_raw', 'eval_precision',
              'eval_recall', 'eval_density', 'eval_coverage'):
    assert list(series[tag][0]) == [2], tag

  space = features_lib.get_features('inception', weights=str(weights), size=size)
  mesh = sharding.make_mesh()
  gan, _, _ = build_gan(config, mesh)
  from flax import nnx  # The EMA generator itself on the eval noise, not the evaluators' path.
  z = generate.fixed_noise(config, generate.EVAL_NOISE_SALT, 256)[:40]
  samples = np.asarray(nnx.merge(gan.g_graph, state.ema_params, state.g_stats)(z, train=False))
  fake, logits = (np.asarray(a, np.float64) for a in space(samples))
  real = np.asarray(space(digits_split(16, 'train')[0])[0], np.float64)
  mu1, mu2 = fake.mean(0), real.mean(0)
  s1, s2 = np.cov(fake, rowvar=False), np.cov(real, rowvar=False)
  covmean = scipy.linalg.sqrtm(s1 @ s2).real
  expected_fd = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
  assert series['eval_fid'][1][0] == pytest.approx(expected_fd, rel=1e-4)

  rng, d, mmds = np.random.RandomState(2020), fake.shape[1], []  # torch-fidelity's seed.
  for _ in range(5):  # The unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3, as a double loop.
    x = fake[rng.choice(40, 20, replace=False)]
    y = real[rng.choice(len(real), 20, replace=False)]
    kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    mmds.append((kxx.sum() - np.trace(kxx)) / 380 + (kyy.sum() - np.trace(kyy)) / 380
                - 2 * kxy.mean())
  assert series['eval_kid'][1][0] == pytest.approx(np.mean(mmds), rel=1e-4, abs=1e-9)

  p = scipy.special.softmax(logits, axis=1)
  scores = [np.exp(np.mean(np.sum(part * (np.log(part) - np.log(part.mean(0))), axis=1)))
            for part in np.split(p, 4)]
  assert series['eval_is'][1][0] == pytest.approx(np.mean(scores), rel=1e-5)
  assert 1.0 <= series['eval_is'][1][0] <= 1008

  # PRDC on the same Inception features: 300 real ones drawn with a fixed seed.
  picks = np.sort(np.random.default_rng(0).permutation(len(real))[:300])
  expected = prdc.prdc(real[picks], fake, k=3)
  for metric, value in expected.items():
    assert series[f'eval_{metric}'][1][0] == pytest.approx(value, rel=1e-5, abs=1e-6), metric
