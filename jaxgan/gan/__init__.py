"""Noise-to-image GANs: state, the D/G step, the loop, generation and evaluators."""
