"""Images from the data's uint8 arrays to the float tensors models take."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def image_tensor(images: np.ndarray, device: torch.device | str = "cpu") -> Tensor:
    """uint8 ``(N, H, W, 3)`` images as a contiguous float NCHW tensor in ``[0, 1]`` on ``device``.

    Contiguous NCHW matters: a permuted (channels-last) view makes CPU convolutions several times slower.
    """
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float().div_(255).contiguous()
