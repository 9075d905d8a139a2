"""Lightning callbacks of the zoo: evaluation metrics, image panels and the run summary."""

from callbacks._common import PeriodicEvaluation, evaluating, is_due
from callbacks.checkpoints import BestCheckpoint, LastCheckpoint
from callbacks.fidelity import FidelityMetrics, InceptionWeightsError
from callbacks.interrupt import CheckpointOnInterrupt
from callbacks.latent import EncoderProbe, FrechetLatentDistance, LatentCovarianceHeatmap, frechet_latent_distance
from callbacks.images import SamplePanels, interpolate_codes, log_image_to_loggers, to_unit_range
from callbacks.mode_counting import ModeCounting, mode_metrics
from callbacks.progress import ThrottledProgressBar
from callbacks.reconstruction import ReconstructionMSE, reconstruction_mse
from callbacks.summary import MetricsSummary

__all__ = [
    "BestCheckpoint",
    "CheckpointOnInterrupt",
    "EncoderProbe",
    "FidelityMetrics",
    "FrechetLatentDistance",
    "InceptionWeightsError",
    "LastCheckpoint",
    "LatentCovarianceHeatmap",
    "MetricsSummary",
    "ModeCounting",
    "PeriodicEvaluation",
    "ReconstructionMSE",
    "SamplePanels",
    "ThrottledProgressBar",
    "evaluating",
    "frechet_latent_distance",
    "interpolate_codes",
    "is_due",
    "log_image_to_loggers",
    "mode_metrics",
    "reconstruction_mse",
    "to_unit_range",
]
