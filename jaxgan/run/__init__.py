"""What every task's training loop is built from; imports nothing from jaxgan.gan or jaxgan.sr."""
