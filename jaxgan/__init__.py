"""jaxgan: a JAX/Flax research codebase for GANs (README.md; the tools are `python -m jaxgan.X`).

Every tool imports this first. TensorFlow, which TFDS and CLU load (data sets, TensorBoard event
files), prints C++ start-up lines (the oneDNN notice, CPU feature flags, each behind absl's
"All log messages before absl::InitializeLog()") unless told before it loads, so the defaults
are set here; a user's own settings win (TF_CPP_MIN_LOG_LEVEL=0 shows them all again).
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # TensorFlow's C++ INFO and WARNING lines.
# oneDNN's notice cannot be silenced otherwise; jaxgan runs no TensorFlow arithmetic.
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
