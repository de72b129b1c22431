"""Visual backbone: MinkowskiEngine ResNet-34 style (official ``TSPBackbone(in_channels=6)``).

stem conv k3 s2 + BN + ReLU (stride 2), max-pool k2 s2 (stride 4), then four stages of BasicBlocks, each starting
with a stride-2 block: strides 8, 16, 32, 64 voxels. Returns all four stages; the head uses the last three
(V1, V2, V3). Every new coordinate set is created with its capacity from the config (``CapacityError`` beyond).
"""
from __future__ import annotations

from torch import nn

from tsp3d.model.blocks import BasicBlock
from tsp3d.model.config import Capacities, ModelConfig
from tsp3d.sparse import SparseBatchNorm, SparseConv3d, SparseMaxPool3d, SparseReLU, SparseTensor


class Backbone(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        b = cfg.backbone
        self.conv1 = SparseConv3d(b.in_channels, b.stem_channels, 3, 2)
        self.norm1 = SparseBatchNorm(b.stem_channels)
        self.relu = SparseReLU()
        self.maxpool = SparseMaxPool3d()
        in_ch = b.stem_channels
        for i, (n_blocks, ch) in enumerate(zip(b.blocks, cfg.stage_channels())):
            blocks = [BasicBlock(in_ch, ch, stride=2)] + [BasicBlock(ch, ch) for _ in range(n_blocks - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            in_ch = ch
        self.num_stages = len(b.blocks)

    bn_folds = (("conv1", "norm1", "relu"),)

    def forward(self, x: SparseTensor, caps: Capacities, batch_size: int = 1) -> list[SparseTensor]:
        def down(t: SparseTensor) -> None:
            t.cset.down(caps.voxels(2 * t.stride) * batch_size)  # created (and bounded) once, then shared

        down(x)
        x = self.relu(self.norm1(self.conv1(x)))
        down(x)
        x = self.maxpool(x)
        outs = []
        for i in range(self.num_stages):
            down(x)
            x = getattr(self, f"layer{i + 1}")(x)
            outs.append(x)
        return outs
