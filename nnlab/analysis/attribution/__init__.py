"""Attribution: which parts of one input drive the score of one class, whether to trust the map, and class averages.

Stage: run (weights of one snapshot, replayed) → analysis → `nnlab.figures.attribution`. `table.METHODS` is the one
table of methods (a new method is one `Method` entry there); `gradients`, `perturb` and `cam` compute them (captum
imported only when an attribution is asked for); `records` holds the page's records; `sanity` is the model
randomisation check (Adebayo et al. 2018).
"""

from .network import cam_head, declared_points, gradcam_layer
from .records import (
    Attribution,
    AttributionInfo,
    ClassAverageInfo,
    FeatureShareInfo,
    InteriorStrip,
    attribute,
    attribute_batch,
    attribution_info,
    baseline,
    baseline_words,
    class_average,
    class_average_info,
    class_samples,
    feature_names,
    feature_share_info,
    input_attribution_info,
    interior_strip,
    occlusion_windows,
)
from .sanity import CascadeInfo, cascade_info, cascade_layers, randomisation_cascade, rank_correlation
from .table import DEFAULTS, INPUT_WORDS, LAYOUT_WORDS, METHODS, Method, find_method, reasons

__all__ = [
    "DEFAULTS",
    "INPUT_WORDS",
    "LAYOUT_WORDS",
    "METHODS",
    "Attribution",
    "AttributionInfo",
    "CascadeInfo",
    "ClassAverageInfo",
    "FeatureShareInfo",
    "InteriorStrip",
    "Method",
    "attribute",
    "attribute_batch",
    "attribution_info",
    "baseline",
    "baseline_words",
    "cam_head",
    "cascade_info",
    "cascade_layers",
    "class_average",
    "class_average_info",
    "class_samples",
    "declared_points",
    "feature_names",
    "feature_share_info",
    "find_method",
    "gradcam_layer",
    "input_attribution_info",
    "interior_strip",
    "occlusion_windows",
    "randomisation_cascade",
    "rank_correlation",
    "reasons",
]
