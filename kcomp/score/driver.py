"""The streaming driver of :func:`score_dataset`: two passes over the samples.

Pass 1 reads the samples once, in input order, and sends batches to worker processes
(``n_jobs``) that price every sample under every compressor and sketch it (digest, MinHash);
the whole-set concatenation is cut into chunks of ``chunk_bytes`` that workers compress too.
The analysers of :mod:`kcomp.score.analysers` keep a few numbers per sample. Pass 2 re-reads
the samples to fetch only what later steps need: near-duplicate candidates (checked with exact
NCD in the workers), the learning-curve subset, the slow compressors' subset and previews.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Sequence

import numpy as np

from kcomp.compressors import Compressor, get_compressor
from kcomp.errors import InputError
from kcomp.score import analysers as an
from kcomp.score.curve import prequential_curve
from kcomp.score.pricing import (
    SEPARATOR, default_compressors, default_curve_compressor, framed_bits, ncd_batch, price_batch, price_chunk)
from kcomp.score.report import human
from kcomp.score.result import ScoreResult
from kcomp.score.sources import Source, make_source, reservoir, to_bytes

PREVIEW_CHARS = 160
NCD_BATCH = 2000  #: candidate pairs per worker task


def preview(data: bytes, n: int = PREVIEW_CHARS) -> str:
    """A short printable excerpt (UTF-8 with replacement, control characters escaped)."""
    text = data[: 4 * n].decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= n else text[: n - 1] + "\u2026"


class _Workers:
    """Ordered, bounded map over worker processes (loky, as joblib uses); inline for n_jobs=1."""

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = n_jobs
        self._pending: deque = deque()
        self._executor = None
        if n_jobs > 1:
            from joblib.externals.loky import get_reusable_executor

            self._executor = get_reusable_executor(max_workers=n_jobs)

    def submit(self, tag: str, fn, *args) -> list:
        """Queue ``fn(*args)``; returns the (tag, result) pairs that are done, in order."""
        if self._executor is None:
            return [(tag, fn(*args))]
        self._pending.append((tag, self._executor.submit(fn, *args)))
        done = []
        while len(self._pending) > 2 * self.n_jobs + 1:
            t, fut = self._pending.popleft()
            done.append((t, fut.result()))
        return done

    def map(self, fn, arg_tuples) -> list:
        """``[fn(*args) for args in arg_tuples]`` (any iterable, consumed lazily), spread over
        the workers with at most ``2 n_jobs + 1`` tasks in flight."""
        out = []
        for args in arg_tuples:
            out += [res for _, res in self.submit("map", fn, *args)]
        return out + [res for _, res in self.drain()]

    def drain(self) -> list:
        done = [(t, fut.result()) for t, fut in self._pending]
        self._pending.clear()
        return done


def _resolve_n_jobs(n_jobs: int | None) -> int:
    if n_jobs is None:
        return max(1, min(os.cpu_count() or 1, 8))
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise InputError(f"n_jobs must be a positive int, -1 (all cores) or None, got {n_jobs!r}")
    return os.cpu_count() or 1 if n_jobs == -1 else n_jobs


class _FirstPass:
    """Pass 1: feeds the analysers from the workers' results, in input order."""

    def __init__(self, price: list[Compressor], fast: list[int], num_perm: int | None, seed: int,
                 lsh_threshold: float) -> None:
        self.price, self.fast, self.num_perm, self.seed = price, fast, num_perm, seed
        self.sizes = an.Sizes()
        self.concat = an.Concatenation(len(fast))
        self.exact = an.ExactDuplicates()
        self.near = an.NearDuplicateCandidates(lsh_threshold, num_perm) if num_perm else None
        self.n_done = 0

    def handle(self, done: list, bar) -> None:
        for tag, res in done:
            if tag == "chunk":
                self.concat.observe(res)
                continue
            start = self.n_done
            self.sizes.observe(res)
            self.exact.observe(res)
            if self.near is not None:
                self.near.observe(res, start, self.exact._groups[-1])
            self.n_done += len(res.lengths)
            bar.update(len(res.lengths))

    def run(self, src: Source, workers: _Workers, batch_size: int, chunk_bytes: int, bar) -> None:
        fast_comps = [self.price[k] for k in self.fast]
        batch: list[bytes] = []
        chunk: list[bytes] = []
        chunk_len = 0
        kinds: set[type] = set()
        for i, item in enumerate(src.factory()):
            x = to_bytes(item, i)
            kinds.add(bytes if isinstance(item, (bytes, bytearray, memoryview)) else str)
            if len(kinds) > 1:
                raise InputError("samples mix str and bytes; pass all str (UTF-8) or all bytes")
            if chunk and chunk_len + len(x) + 1 > chunk_bytes:
                self.handle(workers.submit("chunk", price_chunk, SEPARATOR.join(chunk), fast_comps), bar)
                chunk, chunk_len = [], 0
            chunk.append(x)
            chunk_len += len(x) + 1
            batch.append(x)
            if len(batch) >= batch_size:
                self.handle(workers.submit("batch", price_batch, batch, self.price, self.num_perm, self.seed), bar)
                batch = []
        if batch:
            self.handle(workers.submit("batch", price_batch, batch, self.price, self.num_perm, self.seed), bar)
        if chunk:
            self.handle(workers.submit("chunk", price_chunk, SEPARATOR.join(chunk), fast_comps), bar)
        self.handle(workers.drain(), bar)
        self.sizes.finish(len(self.price))


def _second_pass(src: Source, n: int, want: dict[str, set[int]], bar) -> dict[str, dict[int, bytes]]:
    """Fetch the samples each later step needs (by index), in one more read of the source."""
    every = set().union(*want.values())
    got: dict[str, dict[int, bytes]] = {k: {} for k in want}
    if not every:
        return got
    for i, item in enumerate(src.factory()):
        if i >= n:
            break
        if i in every:
            x = to_bytes(item, i)
            for key, idx in want.items():
                if i in idx:
                    got[key][i] = x
        bar.update(1)
    return got


def _random_subset(lengths: np.ndarray, budget: int, seed: int, eligible: np.ndarray | None = None) -> list[int]:
    """Sample indices in seeded random order until about ``budget`` bytes (random order kept)."""
    out, acc = [], 0
    for j in np.random.default_rng(seed).permutation(lengths.size):
        if lengths[j] == 0 or (eligible is not None and not eligible[j]):
            continue
        out.append(int(j))
        acc += int(lengths[j]) + 1
        if acc >= budget:
            break
    return out


def _near_duplicates(cands, texts: dict[int, bytes], workers: _Workers, nd_comp: Compressor, n: int,
                     params: dict, known: np.ndarray | None) -> tuple[dict, np.ndarray, list]:
    """Exact NCD on the LSH candidate pairs (workers), clusters by connected components.
    ``known``: each sample's size under ``nd_comp`` (bits) when pass 1 priced it."""
    a, b, jac = cands
    def tasks():
        for lo in range(0, a.size, NCD_BATCH):
            ai, bi = a[lo:lo + NCD_BATCH], b[lo:lo + NCD_BATCH]
            sizes = None if known is None else np.stack([known[ai], known[bi]], axis=1)
            yield [(texts[i], texts[j]) for i, j in zip(ai.tolist(), bi.tolist())], nd_comp, sizes

    d = np.concatenate(workers.map(ncd_batch, tasks()) or [np.zeros(0)])
    hit = d <= params["threshold"]
    a, b, jac, d = a[hit], b[hit], jac[hit], d[hit]
    cluster = an.clusters(n, a, b)
    involved = int((cluster >= 0).sum())
    order = np.argsort(d, kind="stable")
    pairs = [(float(d[k]), int(a[k]), int(b[k]), float(jac[k])) for k in order]
    report = dict(params, available=True, compressor=nd_comp.spec, n_candidates=int(hit.size), n_pairs=len(pairs),
                  n_samples_involved=involved, n_clusters=int(np.unique(cluster[cluster >= 0]).size),
                  fraction_involved=involved / n, ncd_quantiles=an.quantiles(d),
                  method="MinHash (datasketch) LSH-band candidates (exact copies excluded), then exact NCD on "
                         "each pair; clusters are connected components (scipy)")
    return report, cluster, pairs


def _check_options(o: dict) -> None:
    """Refuse bad options before the long pass (one clear InputError each)."""
    def positive_int(name, v, allow_zero=False):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (0 if allow_zero else 1):
            raise InputError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} int, got {v!r}")

    if o["sample"] is not None:
        positive_int("sample", o["sample"])
    positive_int("lm_bytes", o["lm_bytes"])
    positive_int("batch_size", o["batch_size"])
    if o["curve_bytes"] is not None:
        positive_int("curve_bytes (0 skips the curve)", o["curve_bytes"], allow_zero=True)
    if not isinstance(o["chunk_bytes"], (int, np.integer)) or o["chunk_bytes"] < 1024:
        raise InputError(f"chunk_bytes must be at least 1024, got {o['chunk_bytes']!r}")
    t = o["near_dup_threshold"]
    if t is not None and not 0 <= t <= 2:
        raise InputError(f"near_dup_threshold is an NCD, expected 0..2, got {t!r}")
    if not 0 < o["lsh_threshold"] < 1:
        raise InputError(f"lsh_threshold is a Jaccard similarity in (0, 1), got {o['lsh_threshold']!r}")


def _compressors(compressors) -> tuple[list[Compressor], list[int], list[int], bool]:
    """(compressors, indices of fast ones, of slow ones, whether they are the defaults)."""
    specs = default_compressors() if compressors is None else list(compressors)
    if not specs:
        raise InputError("at least one compressor is needed")
    comps = [get_compressor(c) for c in specs]
    if len({c.spec for c in comps}) != len(comps):
        raise InputError(f"compressors repeat: {[c.spec for c in comps]}")
    slow = [k for k, c in enumerate(comps) if c.cost == "slow"]  # kB/s on a CPU: a subset only
    return comps, [k for k in range(len(comps)) if k not in slow], slow, compressors is None


def _sampled(src: Source, sample: int | None, seed: int, tqdm, disable: bool):
    """The source itself, or a uniform reservoir sample of it: (source, index map, n seen, note)."""
    if sample is None:
        return src, None, None, None
    with tqdm(desc="sampling", unit="sample", disable=disable, leave=False) as bar:
        res, n_seen = reservoir(src.factory(), sample, seed, bar)
    items = [x for _, x in res]
    out = Source(src.label, lambda: iter(items), len(items))
    if n_seen <= sample:
        return out, None, n_seen, None
    note = (f"scored a uniform random sample (reservoir, seed {seed}) of {sample:,} of the {n_seen:,} samples; "
            "indices refer to the full stream")
    return out, [i for i, _ in res], n_seen, note


def _slow_row(c: Compressor, texts: dict[int, bytes], lengths: np.ndarray, chunk_bytes: int):
    """A slow compressor's row over its subset, and its per-sample full/framing bits."""
    idx = sorted(texts)
    t0 = time.perf_counter()
    priced = np.array([framed_bits(c, texts[i]) for i in idx]).reshape(-1, 2)
    concat = np.zeros(2)
    n_chunks, buf, blen = 0, [], 0
    for i in idx + [None]:
        x = None if i is None else texts[i]
        if buf and (x is None or blen + len(x) + 1 > chunk_bytes):
            concat += framed_bits(c, SEPARATOR.join(buf))
            n_chunks, buf, blen = n_chunks + 1, [], 0
        if x is not None:
            buf.append(x)
            blen += len(x) + 1
    lens = lengths[idx]
    clen = int(lens.sum()) + max(len(idx) - n_chunks, 0)
    row = an.summarize(c, priced[:, 0], priced[:, 1], lens, concat[0], concat[1], clen, n_chunks, chunk_bytes,
                       time.perf_counter() - t0)
    return row, idx, priced


def _curve(curve_comp, texts: dict[int, bytes], order: list[int], curve_bytes: int, warnings: list):
    if not order:
        return None
    stream = SEPARATOR.join(texts[i] for i in order)[:curve_bytes]
    try:
        curve = prequential_curve(stream, curve_comp, n_samples=len(order))
    except InputError as exc:
        warnings.append(f"learning curve not computed: {exc}")
        return None
    if curve.fit is None:
        warnings.append(f"learning curve: {curve.note}")
    return curve


def _set_notes(r: ScoreResult, comps: list[Compressor], nd_comp: Compressor, max_len: int) -> None:
    """Window, chunk and sign notes that say what the numbers can and cannot see."""
    for c in r.compressors:
        if c.window is not None and r.n_bytes > c.window and r.n_samples > 1 and c.n_samples_scored == r.n_samples:
            r.notes.append(f"{c.spec}: window {human(c.window)} < dataset {human(r.n_bytes)}: its cross-sample "
                           f"redundancy only counts repeats within {human(c.sees_bytes)} of each other")
        if c.redundancy is not None and c.redundancy < 0:
            r.notes.append(f"{c.spec}: the concatenation costs more than the samples coded one by one (negative "
                           f"sharing): the codec gains nothing across samples and loses its fresh start at each "
                           f"sample border (window {human(c.window)})")
    if any(c.n_chunks > 1 for c in r.compressors):
        r.notes.append(f"the concatenation was compressed in chunks of <= {human(r.compressors[0].chunk_bytes)} "
                       "(streaming, bounded memory): repeats across chunks are not counted")
    if r.near_duplicates.get("available") and nd_comp.window is not None and max_len > nd_comp.window:
        r.warnings.append(f"some samples exceed {nd_comp.spec}'s {human(nd_comp.window)} window: their NCD "
                          "underestimates similarity (a codec limit), near duplicates may be missed")


def _compressor_rows(comps, fast, slow, fp: _FirstPass, slow_texts: dict[int, bytes], chunk_bytes: int,
                     notes: list[str]):
    """Each compressor's row, the per-sample ratios of the plots, and the slow ones' prices."""
    sizes, n = fp.sizes, fp.n_done
    n_bytes = int(sizes.lengths.sum())
    rows: list = [None] * len(comps)
    for col, k in enumerate(fast):
        rows[k] = an.summarize(comps[k], sizes.bits[:, col], sizes.framing[:, col], sizes.lengths,
                               fp.concat.bits[col], fp.concat.framing[col], n_bytes + max(n - fp.concat.n_chunks, 0),
                               fp.concat.n_chunks, chunk_bytes, 0.0)
    ne = sizes.lengths > 0
    ratios = {comps[k].spec: sizes.bits[ne, col] / 8.0 / sizes.lengths[ne] for col, k in enumerate(fast)}
    slow_rows = {}
    for k in slow:
        rows[k], idx, priced = _slow_row(comps[k], slow_texts, sizes.lengths, chunk_bytes)
        slow_rows[comps[k].spec] = (idx, priced)
        lens = sizes.lengths[idx]
        ratios[comps[k].spec] = priced[lens > 0, 0] / 8.0 / lens[lens > 0]
        if len(idx) < n:
            notes.append(f"{comps[k].spec} (slow on a CPU) priced a seeded random subset of {len(idx):,} samples "
                         f"({human(rows[k].bytes_scored)}; lm_bytes / --lm-bytes), not all {n:,}")
    return rows, ratios, slow_rows


def _sample_warnings(sizes, n: int, n_empty: int) -> list[str]:
    out = []
    if sizes.n_binary:
        out.append(f"{sizes.n_binary} of {n} samples look binary (not UTF-8, or NUL bytes): scores are about "
                   "raw bytes, and text-oriented codecs (and lm) may behave unlike on text")
    if n_empty:
        out.append(f"{n_empty} of {n} samples are empty (0 bytes): left out of the per-sample ratios")
    if n == 1:
        out.append("only one sample: cross-sample redundancy and duplicates need at least 2 samples")
    return out


def _curve_plan(curve_compressor, curve_bytes: int | None) -> tuple[Compressor | None, int]:
    """The learning curve's model and byte budget (2 MiB; 256 KiB for a slow model; 0: none)."""
    if curve_bytes is not None and curve_bytes == 0:
        return None, 0
    comp = get_compressor(curve_compressor if curve_compressor is not None else default_curve_compressor())
    return comp, curve_bytes or ((256 << 10) if comp.cost == "slow" else (2 << 20))


def _price_list(comps: list[Compressor], fast: list[int]) -> tuple[list[Compressor], int]:
    """What pass 1 prices per sample: the fast compressors, plus gzip (the outliers and
    Pandey's metric need it) when absent; and gzip's column."""
    price = [comps[k] for k in fast]
    gz = get_compressor("gzip")
    col = next((k for k, c in enumerate(price) if c.spec == gz.spec), None)
    return (price, col) if col is not None else (price + [gz], len(price))


def _outlier_dicts(out_rows: dict, lengths: np.ndarray, previews: dict, orig) -> dict[str, list[dict]]:
    return {key: [{"index": orig(i), "bits_per_byte": b, "expected_bits_per_byte": e, "residual": r,
                   "bytes": int(lengths[i]), "preview": previews.get(i, "")} for i, b, e, r in rows]
            for key, rows in out_rows.items()}


def _per_sample_columns(comps, fast, slow_rows, sizes, gz_col, group, cluster, orig) -> dict:
    """Column -> array of the per-sample output (bits/byte framing-free; NaN where not priced)."""
    lengths = sizes.lengths
    n = lengths.size
    with np.errstate(divide="ignore", invalid="ignore"):
        cols = {"index": np.array([orig(i) for i in range(n)], dtype=np.int64), "bytes": lengths}
        for col, k in enumerate(fast):
            free = np.maximum(sizes.bits[:, col] - sizes.framing[:, col], 0.0)
            cols[f"bits_per_byte.{comps[k].spec}"] = np.where(lengths > 0, free / lengths, np.nan)
        for spec, (idx, priced) in slow_rows.items():
            v = np.full(n, np.nan)
            if idx:
                v[idx] = np.maximum(priced[:, 0] - priced[:, 1], 0.0) / lengths[idx]
            cols[f"bits_per_byte.{spec}"] = v
        cols["gzip_ratio"] = np.where(lengths > 0, sizes.bits[:, gz_col] / 8.0 / lengths, np.nan)
    cols["exact_dup_group"] = np.array([orig(g) if g >= 0 else -1 for g in group.tolist()], dtype=np.int64)
    cols["near_dup_cluster"] = cluster
    return cols


def score_dataset(
    data,
    compressors: Sequence[str | Compressor] | None = None,
    *,
    field: str | None = None,
    binary_chunk: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    chunk_bytes: int = 4 << 20,
    near_dup_threshold: float | None = 0.3,
    near_dup_compressor: str | Compressor = "gzip",
    lsh_threshold: float = 0.5,
    num_perm: int = 64,
    max_candidates_per_sample: int = 20,
    curve_compressor: str | Compressor | None = None,
    curve_bytes: int | None = None,
    lm_bytes: int = 256 << 10,
    n_outliers: int = 5,
    min_outlier_bytes: int = 64,
    n_examples: int = 5,
    n_jobs: int | None = None,
    batch_size: int = 256,
    progress: bool | None = None,
) -> ScoreResult:
    """Score how compressible (structured, redundant) a dataset is; see :mod:`kcomp.score`.

    ``data``: a path (directory: one raw-bytes sample per file; ``.txt``: one sample per line;
    ``.jsonl``/``.csv``/Parquet/Arrow/HF ``save_to_disk``: the ``field`` column; text files may
    be ``.gz``/``.zst``), or an iterable of str/bytes. ``binary_chunk``: read the file ``data``
    as raw bytes in chunks of that many bytes. ``sample``: score a uniform random sample of that
    many samples. ``curve_compressor``: the learning curve's adaptive model (default
    :func:`default_curve_compressor`); ``curve_bytes`` caps its data (2 MiB; 256 KiB for a slow
    one), 0 skips it. ``lm_bytes``: slow compressors (``cost == "slow"``) price a seeded random
    subset of about this many bytes. ``near_dup_threshold``: NCD at or below which an LSH
    candidate pair is a near duplicate (None: no search). ``n_jobs``: worker processes
    (default: the cores, at most 8; 1 runs in this process).
    """
    from tqdm.auto import tqdm

    _check_options(dict(sample=sample, lm_bytes=lm_bytes, batch_size=batch_size, curve_bytes=curve_bytes,
                        chunk_bytes=chunk_bytes, near_dup_threshold=near_dup_threshold, lsh_threshold=lsh_threshold))
    comps, fast, slow, defaults = _compressors(compressors)
    nd_comp = get_compressor(near_dup_compressor)
    curve_comp, curve_bytes = _curve_plan(curve_compressor, curve_bytes)
    price, gz_col = _price_list(comps, fast)
    src = make_source(data, field, binary_chunk=binary_chunk)
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    src, index_map, n_seen, sample_note = _sampled(src, sample, seed, tqdm, disable)
    orig = (lambda i: index_map[i]) if index_map is not None else (lambda i: i)
    workers = _Workers(_resolve_n_jobs(n_jobs))
    fp = _FirstPass(price, list(range(len(fast))), num_perm if near_dup_threshold is not None else None, seed,
                    lsh_threshold)
    with tqdm(total=src.total, desc="scoring", unit="sample", disable=disable, leave=False) as bar:
        fp.run(src, workers, batch_size, chunk_bytes, bar)
    sizes, n, skipped = fp.sizes, fp.n_done, src.skipped  # (pass 2 stops early: read the counts now)
    if n == 0:
        raise InputError(f"{src.label}: holds no samples (nothing to score)")
    n_bytes = int(sizes.lengths.sum())
    if n_bytes == 0:
        raise InputError(f"{src.label}: all {n} samples are empty (0 bytes): nothing to score")
    warnings: list[str] = []
    notes: list[str] = [sample_note] if sample_note else []
    n_empty = int((sizes.lengths == 0).sum())
    if slow and defaults and sizes.n_binary:  # issue 14.3: lm is a text model
        notes.append(f"{', '.join(comps[k].spec for k in slow)} left out of the defaults: {sizes.n_binary:,} samples "
                     "are binary and it is a text model (pass it with -c to price them anyway)")
        comps, fast, slow = [comps[k] for k in fast], list(range(len(fast))), []
    first = fp.exact.finish()
    cands = fp.near.finish(max_candidates_per_sample) if fp.near is not None and n > 1 else None
    free_gz = np.maximum(sizes.bits[:, gz_col] - sizes.framing[:, gz_col], 0.0)
    out_rows = an.outliers(sizes.lengths, free_gz, min_outlier_bytes, n_outliers)
    curve_order = _random_subset(sizes.lengths, curve_bytes, seed) if curve_comp is not None else []
    want = {"near": set() if cands is None else set(cands[0].tolist()) | set(cands[1].tolist()),
            "curve": set(curve_order),
            "slow": set(_random_subset(sizes.lengths, lm_bytes, seed + 1)) if slow else set(),
            "preview": {r[0] for rows in out_rows.values() for r in rows} | set(an.exact_examples(first, n_examples))}
    with tqdm(total=n, desc="duplicates + curve", unit="sample", disable=disable, leave=False) as bar:
        got = _second_pass(src, n, want, bar)
    previews = {i: preview(x) for i, x in got["preview"].items()}
    exact, group = an.exact_report(first, n_examples, previews, orig)
    nd_col = next((k for k, c in enumerate(price) if c.spec == nd_comp.spec), None)
    near, cluster = _near_report(cands, got["near"], workers, nd_comp, n, near_dup_threshold, lsh_threshold,
                                 num_perm, n_examples, orig, None if nd_col is None else sizes.bits[:, nd_col])
    cluster = np.where(cluster >= 0, cluster, cluster[first])  # exact copies join their original's cluster
    rows, ratios, slow_rows = _compressor_rows(comps, fast, slow, fp, got["slow"], chunk_bytes, notes)
    warnings += _sample_warnings(sizes, n, n_empty)
    outlier_dicts = _outlier_dicts(out_rows, sizes.lengths, previews, orig)
    ne = sizes.lengths > 0
    gz_ratio = sizes.bits[ne, gz_col] / 8.0 / sizes.lengths[ne]
    result = ScoreResult(
        source=src.label, n_samples=n, n_bytes=n_bytes, n_empty=n_empty, n_binary=sizes.n_binary,
        n_seen=n_seen if n_seen is not None else n, sampled=index_map is not None, compressors=rows,
        gzip_compressibility=float(np.median(gz_ratio)) if gz_ratio.size else None, exact_duplicates=exact,
        near_duplicates=near, least_compressible=outlier_dicts["least"], most_compressible=outlier_dicts["most"],
        outlier_compressor=price[gz_col].spec,
        learning_curve=_curve(curve_comp, got["curve"], curve_order, curve_bytes or 0, warnings),
        warnings=warnings, notes=notes, skipped=skipped, sample_ratios=ratios,
        per_sample=_per_sample_columns(comps, fast, slow_rows, sizes, gz_col, group, cluster, orig))
    _set_notes(result, comps, nd_comp, int(sizes.lengths.max()))
    return result


def _near_report(cands, texts, workers, nd_comp, n, threshold, lsh_threshold, num_perm, n_examples, orig,
                 known=None):
    """The near-duplicate summary (with previews of the closest pairs) and the cluster ids."""
    if threshold is None:
        return {"available": False, "reason": "disabled (near_dup_threshold=None)"}, np.full(n, -1)
    if cands is None:
        return {"available": False, "reason": "needs at least 2 samples"}, np.full(n, -1)
    params = {"threshold": threshold, "lsh_threshold": lsh_threshold, "num_perm": num_perm, "shingle_bytes": 5}
    report, cluster, pairs = _near_duplicates(cands, texts, workers, nd_comp, n, params, known)
    report["examples"] = [{"i": orig(j), "j": orig(i), "ncd": d, "jaccard_estimate": jac,
                           "preview_i": preview(texts[j]), "preview_j": preview(texts[i])}
                          for d, j, i, jac in pairs[:n_examples]]
    return report, cluster
