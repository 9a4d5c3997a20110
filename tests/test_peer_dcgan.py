"""benchmarks/pytorch_gan_dcgan.py, the PyTorch-GAN DCGAN peer: architecture, loss, budget."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip('torch')
peer = pytest.importorskip('benchmarks.pytorch_gan_dcgan')


def conv(cin, cout, k=3):
  return cin * cout * k * k + cout


def linear(cin, cout):
  return cin * cout + cout


def bn(c):
  return 2 * c


def expected_counts(latent_dim, img_size, channels):
  """Their architecture, counted by hand from its description."""
  s = img_size // 4
  g = (linear(latent_dim, 128 * s * s) + bn(128) + conv(128, 128) + bn(128) + conv(128, 64)
       + bn(64) + conv(64, channels))
  d = (conv(channels, 16) + conv(16, 32) + bn(32) + conv(32, 64) + bn(64) + conv(64, 128)
       + bn(128) + linear(128 * (img_size // 16) ** 2, 1))
  return g, d


def count(module):
  return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('latent_dim, img_size, channels', [(100, 32, 1), (64, 64, 3)])
def test_parameter_counts_are_the_architectures(latent_dim, img_size, channels):
  g, d, _, _ = peer.build(latent_dim, img_size, channels)
  assert (count(g), count(d)) == expected_counts(latent_dim, img_size, channels)
  if (latent_dim, img_size, channels) == (100, 32, 1):
    assert (count(g), count(d)) == (1_049_985, 98_113)  # Their script's defaults.


def test_layers_as_their_script_defines_them():
  g, d, opt_g, _ = peer.build()
  assert g.norm0.eps == 1e-5 and g.norm1.eps == g.norm2.eps == 0.8
  assert all(n.eps == 0.8 and n.momentum == 0.1 for n in d.norms[1:])
  assert isinstance(d.norms[0], torch.nn.Identity) and d.dropout.p == 0.25
  assert opt_g.defaults['lr'] == 2e-4 and opt_g.defaults['betas'] == (0.5, 0.999)
  # Init: conv weights N(0, 0.02), BN weights N(1, 0.02) and zero biases; the rest PyTorch's.
  weights = torch.cat([c.weight.detach().flatten() for c in (g.conv1, g.conv2, *d.convs[1:])])
  assert abs(float(weights.std()) - 0.02) < 1e-3 and abs(float(weights.mean())) < 1e-3
  norm_weight = g.norm1.weight.detach()
  assert abs(float(norm_weight.mean()) - 1) < 0.01 and float(norm_weight.std()) < 0.03
  assert float(g.norm1.bias.detach().abs().max()) == 0.0
  bound = 1 / np.sqrt(128 * 9)  # PyTorch's default bias init: U(-1/sqrt(fan_in), +).
  assert 0 < float(g.conv1.bias.detach().abs().max()) <= bound


def test_shapes():
  g, d, _, _ = peer.build()
  images = g(torch.randn(5, 100))
  assert images.shape == (5, 1, 32, 32)
  assert float(images.abs().max()) <= 1.0
  p = d(images)
  assert p.shape == (5, 1) and bool(((p > 0) & (p < 1)).all())
  real = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 1), np.uint8)
  x = peer.to_tensor(real)
  assert x.shape == (3, 1, 32, 32)
  np.testing.assert_allclose(x.numpy()[:, 0], real[..., 0] / 255 * 2 - 1, atol=1e-6)


def bce(p, y):
  p = np.asarray(p, np.float64)
  return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def test_one_step_is_g_then_d_with_bce():
  torch.manual_seed(0)
  g, d, opt_g, opt_d = peer.build()
  before_g, before_d = copy.deepcopy(g), copy.deepcopy(d)
  real = peer.to_tensor(np.random.default_rng(0).integers(0, 256, (8, 32, 32, 1), np.uint8))
  z = torch.randn(8, 100)
  out = peer.train_step(g, d, opt_g, opt_d, real, z)
  # G loss: the fakes read as real; D loss: the mean of real-as-real and fake-as-fake.
  assert float(out['g_loss']) == pytest.approx(bce(out['p_gen'], 1), rel=1e-5)
  assert float(out['d_loss']) == pytest.approx(
      (bce(out['p_real'], 1) + bce(out['p_fake'], 0)) / 2, rel=1e-5)
  # D trained on the fakes of G before its step (their gen_imgs.detach()).
  with torch.no_grad():
    np.testing.assert_allclose(out['gen_imgs'].numpy(), before_g(z).numpy(), atol=1e-6)
  for new, old in ((g, before_g), (d, before_d)):
    changed = [not torch.equal(a, b) for a, b in zip(new.parameters(), old.parameters())]
    assert all(changed)
  # D's BatchNorm statistics moved three times: G step, real, fake.
  assert int(d.norms[1].num_batches_tracked) == 3 and int(g.norm1.num_batches_tracked) == 1


def images(n=40, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 1), np.uint8)


def test_training_and_sampling_are_deterministic_given_the_seed():
  a = peer.train(images(), max_steps=2, seed=3, batch_size=8)
  b = peer.train(images(), max_steps=2, seed=3, batch_size=8)
  assert a.steps == b.steps == 2
  samples = peer.sample(a.generator, 12, seed=1, batch_size=5)
  assert samples.shape == (12, 32, 32, 1) and samples.dtype == np.uint8
  np.testing.assert_array_equal(samples, peer.sample(a.generator, 12, seed=1, batch_size=7))
  np.testing.assert_array_equal(samples, peer.sample(b.generator, 12, seed=1))
  assert not np.array_equal(samples, peer.sample(a.generator, 12, seed=2))
  # Eval mode by default (running statistics); train mode draws with each batch's statistics.
  state = {k: v.clone() for k, v in a.generator.state_dict().items()}
  trained = peer.sample(a.generator, 12, seed=1, batch_size=6, train_mode=True)
  assert not np.array_equal(samples, trained)
  assert all(torch.equal(v, a.generator.state_dict()[k]) for k, v in state.items())
  assert a.generator.training  # Left in the mode it was in.


def test_epochs_reshuffle_and_keep_the_last_small_batch():
  torch.manual_seed(0)
  batches = peer.shuffled_batches(10, 4)
  first = [next(batches) for _ in range(3)]
  second = [next(batches) for _ in range(3)]
  assert [len(b) for b in first] == [4, 4, 2]
  assert sorted(torch.cat(first).tolist()) == sorted(torch.cat(second).tolist()) == list(range(10))
  assert not torch.equal(torch.cat(first), torch.cat(second))


def test_time_budget_is_honoured():
  result = peer.train(images(64), seconds=2.0, batch_size=4)
  per_step = result.seconds / result.steps  # The last step ends past the budget, by < 1 step.
  assert result.steps >= 1 and result.images_seen == 4 * result.steps
  assert 2.0 <= result.seconds <= 2.0 + max(3 * per_step, 0.5)  # Loose: never a speed test.
  assert result.threads == torch.get_num_threads()
