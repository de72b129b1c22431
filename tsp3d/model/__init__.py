"""The TSP3D model (backbone, BiEncoders, TGP, CBA, head), its losses, configs and deployment helpers."""
from tsp3d.model.batch import TrainBatch, make_train_batch
from tsp3d.model.config import ModelConfig, load_config
from tsp3d.model.fold import fold_batchnorm
from tsp3d.model.grounder import TSP3D, Grounding
from tsp3d.model.head import COUNT_NAMES
from tsp3d.model.stages import FullStage, GroundingStage, SceneStage

__all__ = ["TrainBatch", "make_train_batch", "ModelConfig", "load_config", "fold_batchnorm", "TSP3D", "Grounding",
           "COUNT_NAMES", "FullStage", "GroundingStage", "SceneStage", "build_model"]


def build_model(config: "ModelConfig | str") -> TSP3D:
    """A freshly initialised model from a config (object, packaged name or JSON path)."""
    return TSP3D(config if isinstance(config, ModelConfig) else load_config(config))
