"""The Python baseline for `zoo convert`: torch.load(weights_only=True) + safetensors save_file."""
import sys

import torch
from safetensors.torch import save_file

ckpt = torch.load(sys.argv[1], weights_only=True, map_location="cpu")
sd = ckpt.get("state_dict", ckpt)
save_file({k: v.contiguous() for k, v in sd.items()}, sys.argv[2], metadata={"format": "pt"})
