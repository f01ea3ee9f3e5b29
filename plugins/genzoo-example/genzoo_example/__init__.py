"""genzoo plugin: the ``resvae`` model and the ``ssim`` reconstruction loss.

Kept empty on purpose: each registration lives in its own submodule (the entry points' values), so that loading
one registry's plugin never registers another registry's entries as a side effect.
"""
