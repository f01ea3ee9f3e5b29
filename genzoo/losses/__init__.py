"""Built-in losses, registered by name so that a config field (``recon_loss: bce``) chooses them.

Kinds: ``reconstruction`` — ``fn(output, target) -> loss`` where ``output`` is the decoder's raw output (logits;
the image is ``sigmoid(output)``) and ``target`` is in ``[0, 1]``, summed over pixels and averaged over the batch;
``kl_schedule`` — ``fn(step, schedule) -> factor`` in ``[0, 1]`` multiplying the KL weight;
``gan`` — ``fn(prediction, real, for_discriminator) -> loss`` (see ``genzoo.losses.gan``).
Every module of this package is imported when the loss registry is first used (a new built-in loss is a new
module or a new function in one of these). The modules import torch inside the functions, so that listing losses
stays instant.
"""
