"""What :func:`kcomp.score_dataset` returns: per-compressor rows and the whole report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kcomp._json import json_safe
from kcomp.score.curve import LearningCurve


@dataclass
class CompressorScore:
    spec: str
    window: int | None  #: bytes of history the codec can use (None: unbounded)
    total_bits: float  #: C(concatenation), sum over chunks, framing included
    bits_per_byte: float  #: total_bits / bytes of the concatenation
    ratio: float  #: compressed / original of the whole set
    sample_ratio: dict  #: quantiles (and mean) of C(sample)/len(sample) over non-empty samples
    sample_ratio_framing_free: dict  #: the same with the codec's container framing removed
    sum_sample_bits: float  #: sum of C(sample), framing removed
    concat_bits: float  #: C(concatenation), framing removed
    shared_bits: float  #: sum_sample_bits - concat_bits: what samples share (in bits)
    redundancy: float | None  #: shared_bits / sum_sample_bits (None with < 2 samples)
    chunk_bytes: int
    n_chunks: int
    sees_bytes: int  #: min(window, chunk_bytes): farthest repeat the codec can exploit
    seconds: float = 0.0
    n_samples_scored: int = 0  #: samples this compressor priced (< all for slow ones: see lm_bytes)
    bytes_scored: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ScoreResult:
    source: str
    n_samples: int
    n_bytes: int
    n_empty: int
    n_binary: int
    n_seen: int  #: samples in the stream (> n_samples when sampled)
    sampled: bool
    compressors: list[CompressorScore]
    gzip_compressibility: float | None  #: Pandey (2024): median per-sample gzip ratio
    exact_duplicates: dict
    near_duplicates: dict
    least_compressible: list[dict]
    most_compressible: list[dict]
    outlier_compressor: str
    learning_curve: LearningCurve | None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  #: what the reader left out, e.g. {"blank lines": 3235}
    sample_ratios: dict = field(default_factory=dict, repr=False)  #: spec -> per-sample ratios (for plots)
    per_sample: dict = field(default_factory=dict, repr=False)  #: column -> array, one entry per sample
    plots: list[str] = field(default_factory=list)

    def to_dict(self, *, include_sample_ratios: bool = False) -> dict:
        d = {
            "source": self.source, "n_samples": self.n_samples, "n_bytes": self.n_bytes,
            "n_empty": self.n_empty, "n_binary": self.n_binary, "n_seen": self.n_seen,
            "sampled": self.sampled, "skipped": dict(self.skipped),
            "gzip_compressibility_pandey2024": self.gzip_compressibility,
            "compressors": [c.to_dict() for c in self.compressors],
            "exact_duplicates": self.exact_duplicates, "near_duplicates": self.near_duplicates,
            "outlier_compressor": self.outlier_compressor,
            "least_compressible": self.least_compressible, "most_compressible": self.most_compressible,
            "learning_curve": None if self.learning_curve is None else self.learning_curve.to_dict(),
            "warnings": list(self.warnings), "notes": list(self.notes), "plots": list(self.plots),
            "units": "sizes in bits; ratio = compressed bytes / original bytes",
        }
        if include_sample_ratios:
            d["sample_ratios"] = {k: np.asarray(v).tolist() for k, v in self.sample_ratios.items()}
        return json_safe(d)

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(**kw), indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        from kcomp.score.report import score_markdown

        return score_markdown(self)

    def plot(self, directory: str | Path, *, prefix: str = "score") -> list[str]:
        """Write ``{prefix}_ratio_hist.png`` and ``{prefix}_learning_curve.png``; returns the paths."""
        from kcomp.score.report import score_plots

        self.plots = score_plots(self, Path(directory), prefix)
        return self.plots

    def per_sample_rows(self):
        """One dict per sample in input order (see :func:`kcomp.score.per_sample.rows`)."""
        from kcomp.score.per_sample import rows

        return rows(self)

    def write_per_sample(self, path: str | Path) -> Path:
        """Write the per-sample rows to ``path`` (.jsonl or .parquet), atomically."""
        from kcomp.score.per_sample import write

        return write(self, Path(path))
