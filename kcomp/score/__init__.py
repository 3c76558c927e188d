"""Dataset compressibility scorer: how much structure a collection of samples holds, in bits.

:func:`score_dataset` streams a dataset (directory, .txt, .jsonl/.csv, Parquet, Arrow, a HF
``save_to_disk`` folder, a binary file in chunks, or an iterable of str/bytes) and reports,
for each compressor:

* **whole-set size**: bits per byte of the concatenated samples and the ratio
  ``compressed / original`` (1.0 = incompressible, lower = more structure);
* **per-sample ratios** ``C(sample) / len(sample)`` (full codec stream, as ``gzip.compress``
  does) and the same without the codec's container framing: quantiles and mean. The median
  gzip ratio is the *gzip-compressibility* of Pandey (2024);
* **cross-sample redundancy**: ``sum_i C(s_i)`` vs ``C(s_1 \\n s_2 \\n ...)``, both without
  framing, so only shared content counts; the concatenation is compressed in chunks of
  ``chunk_bytes`` and a codec sees repeats within ``min(window, chunk)`` bytes only;
* **duplicates**: exact (BLAKE2) and near (datasketch MinHash on byte 5-grams, LSH bands as
  the candidate filter, exact NCD on candidates only, clusters as connected components);
* **outliers**: least / most compressible samples for their length;
* **learning curve**: prequential code length per byte as an adaptive model sees the data,
  fitted with ``L(n) = E + A n^-b`` and flagged when the fit is unreliable.

``result.write_per_sample(path)`` writes one row per sample (.jsonl or .parquet) to filter on.
Modules: :mod:`~kcomp.score.driver` (the two streaming passes), :mod:`~kcomp.score.analysers`,
:mod:`~kcomp.score.pricing` (worker-side work), :mod:`~kcomp.score.report` (Markdown, plots).
"""

from kcomp.score.curve import LearningCurve, prequential_curve
from kcomp.score.driver import score_dataset
from kcomp.score.fit import PowerLawFit, fit_power_law
from kcomp.score.pricing import (
    DEFAULT_COMPRESSORS, compressor_usable, default_compressors, default_curve_compressor, lm_available)
from kcomp.score.result import CompressorScore, ScoreResult

__all__ = ["score_dataset", "ScoreResult", "CompressorScore", "LearningCurve", "PowerLawFit", "fit_power_law",
           "prequential_curve", "default_compressors", "default_curve_compressor", "compressor_usable",
           "lm_available", "DEFAULT_COMPRESSORS"]
