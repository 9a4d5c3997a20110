"""Super-resolution (SRResNet / SRGAN, Ledig et al. 2017): LR image -> HR image training.

SR is not a noise -> image GAN, so it has its own state, step, loop and evaluation modules,
reusing the shared checkpointing, sharding and CLU logging. `config.task == 'sr'` selects it.
"""
