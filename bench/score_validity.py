"""Does the compressibility score mean something? Three checks on real corpora.

1. **Score table** over real corpora: Python sources, C headers, the King James Bible, fortunes
   in several languages, Debian package descriptions, ISO code tables as JSON and as XML (the
   same information in two syntaxes), a bacterial genome, and random bytes (a control).
2. **Monotonicity under injected noise**: replace 0/10/30/50% of the characters of a corpus by
   random printable ASCII characters; bits/byte must rise steadily with every compressor (and
   the gzip-compressibility and the learning-curve asymptote E with it).
3. **Does compressibility predict learnability?** Across the real corpora, the Spearman
   correlation between the scorer's numbers and learning outcomes: (a) held-out code length of
   an adaptive model (PPMd order 6, which is not one of the scorer's codecs) after training on
   TRAIN bytes, on HELD bytes of *other samples* (mean of 3 seeded splits); (b) the final prequential loss of the online
   ``lm`` (``lm:online``) when it is installed; (c) for labelled sets (Debian sections, fortune
   languages and topics, file formats), 1-NN accuracy with exact NCD (``kcomp.ncd_topk``, gzip)
   on a seeded train/test split, against the scorer's numbers on each task's pooled text.

Sample sizes (all seeded): each corpus is capped at CAP bytes (default 400 KB) of whole samples
in random order; the noise check uses 200 KB; learnability uses TRAIN = 200 KB and HELD = 32 KB;
lm:online uses 64 KB; kNN uses 40 train + 20 test samples per class. Runs in a few minutes on
2 cores. Writes ``bench/results/score_validity.json`` and prints Markdown tables.

Needs Debian packages (offline): fortunes fortunes-de fortunes-es fortunes-it fortunes-ru
fortunes-pl fortunes-cs fortunes-zh fortunes-br bible-kjv iso-codes abacas-examples; missing
corpora are skipped and listed in the output.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kcomp import get_compressor, ncd_topk
from kcomp.score import compressor_usable, score_dataset

FORTUNES = Path("/usr/share/games/fortunes")
EN_FORTUNE_FILES = ["computers", "cookie", "definitions", "drugs", "education", "ethnic", "food", "fortunes",
                    "goedel", "humorists", "kids", "law", "linuxcookie", "literature", "love", "magic",
                    "medicine", "men-women", "miscellaneous", "news", "people", "pets", "platitudes",
                    "politics", "riddles", "science", "songs-poems", "sports", "startrek", "wisdom", "work",
                    "zippy"]
FORTUNE_LANGS = {"de": "de", "es": "es", "it": "it", "ru": "ru", "pl": "pl", "cs": "cs"}
ISO_NAMES = ["iso_639-2", "iso_639-3", "iso_639-5", "iso_3166-1", "iso_3166-2", "iso_3166-3", "iso_4217",
             "iso_15924"]
SCORE_COMPRESSORS = ["gzip", "zstd:19", "brotli:11", "lzma"]


def find_data() -> Path:
    """The shared data directory ($KCOMP_DATA, then ../shared/data)."""
    from kcomp.datasets import find_shared_data

    path = find_shared_data()
    if path is None:
        raise SystemExit("debian-descriptions.jsonl.gz not found: set KCOMP_DATA=/path/to/shared/data")
    return path.parent


# ---------------------------------------------------------------------------------------
# corpora loaders: each returns a list of samples (str or bytes), or None when unavailable
# ---------------------------------------------------------------------------------------
def cap_samples(samples: list, cap: int, seed: int) -> list:
    """Whole samples in a seeded random order until ``cap`` bytes."""
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    out, total = [], 0
    for i in order:
        s = samples[i]
        n = len(s.encode() if isinstance(s, str) else s)
        if n == 0:
            continue
        out.append(s)
        total += n
        if total >= cap:
            break
    return out


def chunk_lines(text: str, size: int = 2048) -> list[str]:
    """Cut a long text into ~size-byte chunks at line boundaries."""
    out, cur, n = [], [], 0
    for line in text.splitlines(keepends=True):
        cur.append(line)
        n += len(line)
        if n >= size:
            out.append("".join(cur))
            cur, n = [], 0
    if cur:
        out.append("".join(cur))
    return out


def read_fortune_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    return [e.strip("\n") for e in re.split(r"\n%\n", text) if e.strip()]


def load_fortunes_en(by_file: bool = False):
    files = [FORTUNES / f for f in EN_FORTUNE_FILES if (FORTUNES / f).is_file()]
    if not files:
        return None
    if by_file:
        return {f.name: read_fortune_file(f) for f in files}
    return [e for f in files for e in read_fortune_file(f)]


def load_fortunes_lang(code: str):
    d = FORTUNES / FORTUNE_LANGS[code]
    if not d.is_dir():
        return None
    out = []
    for f in sorted(d.iterdir()):
        if f.is_file() and not f.name.endswith((".dat", ".u8")):
            out += read_fortune_file(f)
    return out or None


def load_fortunes_zh():
    out = []
    for name in ("chinese", "tang300", "song100"):
        if (FORTUNES / name).is_file():
            out += read_fortune_file(FORTUNES / name)
    return out or None


def load_fortunes_pt():
    return read_fortune_file(FORTUNES / "brasil") or None if (FORTUNES / "brasil").is_file() else None


def load_python():
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py") if p.is_file())
    return [p.read_bytes() for p in files] or None


def load_c_headers():
    files = sorted(p for p in Path("/usr/include").glob("*.h") if p.is_file() and not p.is_symlink())
    return [p.read_bytes() for p in files] or None


def load_bible_chapters():
    if shutil.which("bible") is None:
        return None
    try:
        text = subprocess.run(["bible", "-f", "gen1:1-rev22:21"], capture_output=True, text=True, timeout=120,
                              check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    chapters: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+?)(\d+):(\d+) (.*)$", line)
        if m:
            chapters.setdefault(f"{m.group(1)}{m.group(2)}", []).append(m.group(4))
    return ["\n".join(v) for v in chapters.values()] or None


def load_debian(data_dir: Path, with_meta: bool = False):
    rows = []
    with gzip.open(data_dir / "debian-descriptions.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
    return rows if with_meta else [r["text"] for r in rows]


def load_iso(kind: str):
    base = Path("/usr/share/iso-codes/json") if kind == "json" else Path("/usr/share/xml/iso-codes")
    ext = ".json" if kind == "json" else ".xml"
    files = [base / f"{n}{ext}" for n in ISO_NAMES]
    files = [f for f in files if f.is_file()]
    if len(files) < len(ISO_NAMES):
        return None
    return [c for f in files for c in chunk_lines(f.read_text(encoding="utf-8"))]


def load_genome():
    p = Path("/usr/share/doc/abacas-examples/SS_SC84.dna.gz")
    if not p.exists():
        return None
    text = gzip.decompress(p.read_bytes()).decode("ascii")
    return chunk_lines(text, 2048)


def load_random(n: int = 400, size: int = 1024, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for _ in range(n)]


# ---------------------------------------------------------------------------------------
# experiments
# ---------------------------------------------------------------------------------------
def score_row(name: str, samples: list, curve_bytes: int, seed: int) -> dict:
    t0 = time.perf_counter()
    r = score_dataset(samples, SCORE_COMPRESSORS, curve_compressor="ppmd", curve_bytes=curve_bytes, seed=seed,
                      progress=False)
    lc = r.learning_curve
    row = {
        "corpus": name, "n_samples": r.n_samples, "bytes": r.n_bytes,
        "gzip_compressibility": r.gzip_compressibility,
        **{f"bpb_{c.spec}": c.bits_per_byte for c in r.compressors},
        **{f"redundancy_{c.spec}": c.redundancy for c in r.compressors},
        "exact_dup_fraction": r.exact_duplicates.get("fraction"),
        "near_dup_fraction": r.near_duplicates.get("fraction_involved"),
        "curve_E": lc.fit.E if lc and lc.fit else None, "curve_E_se": lc.fit.E_se if lc and lc.fit else None,
        "curve_b": lc.fit.b if lc and lc.fit else None,
        "curve_final_bpb": lc.bits_per_byte[-1] if lc else None,
        "n_binary": r.n_binary, "seconds": time.perf_counter() - t0,
    }
    return row


def inject_noise(text: str, p: float, rng: random.Random) -> str:
    chars = list(text)
    for i in rng.sample(range(len(chars)), round(p * len(chars))):
        chars[i] = chr(rng.randrange(32, 127))
    return "".join(chars)


def as_text(samples: list) -> list[str]:
    return [s.decode("utf-8", errors="replace") if isinstance(s, bytes) else s for s in samples]


def heldout_bits_per_byte(samples: list, train: int, held: int, spec: str, seed: int) -> float:
    """Train on TRAIN bytes of samples (random order), price HELD bytes of other samples."""
    data = [s.encode() if isinstance(s, str) else s for s in samples]
    order = list(range(len(data)))
    random.Random(seed + 1).shuffle(order)
    tr, ho = [], []
    ntr = nho = 0
    for i in order:
        if ntr < train:
            tr.append(data[i])
            ntr += len(data[i]) + 1
        elif nho < held:
            ho.append(data[i])
            nho += len(data[i]) + 1
        else:
            break
    a = b"\n".join(tr)[:train]
    h = (b"\n" + b"\n".join(ho))[:held]
    if len(h) < held // 2:
        raise ValueError("not enough data for the held-out part")
    comp = get_compressor(spec)
    return (comp.size_bits(a + h) - comp.size_bits(a)) / len(h)


def lm_final_loss(samples: list, nbytes: int, seed: int) -> float | None:
    """Mean prequential bits/byte of lm:online over the last quarter of NBYTES."""
    comp = get_compressor("lm:online")
    data = [s.encode() if isinstance(s, str) else s for s in samples]
    order = list(range(len(data)))
    random.Random(seed + 2).shuffle(order)
    stream = b"\n".join(data[i] for i in order)[:nbytes]
    bits = np.asarray(comp.prequential_code_lengths(stream), dtype=float)
    return float(bits[-len(bits) // 4:].mean())


def knn_task(name: str, labelled: dict[str, list], per_class_train: int, per_class_test: int, seed: int) -> dict:
    rng = random.Random(seed)
    train, ytr, test, yte = [], [], [], []
    for label, items in sorted(labelled.items()):
        items = [x for x in items if x]
        if len(items) < per_class_train + per_class_test:
            continue
        picks = rng.sample(items, per_class_train + per_class_test)
        train += picks[:per_class_train]
        ytr += [label] * per_class_train
        test += picks[per_class_train:]
        yte += [label] * per_class_test
    classes = sorted(set(ytr))
    _, idx = ncd_topk(test, train, 1, "gzip", n_jobs=2, progress=False)
    pred = [ytr[i] for i in idx[:, 0]]
    acc = float(np.mean([p == t for p, t in zip(pred, yte)]))
    chance = 1.0 / len(classes)
    return {"task": name, "classes": len(classes), "n_train": len(train), "n_test": len(test),
            "accuracy": acc, "chance": chance, "accuracy_over_chance": (acc - chance) / (1 - chance),
            "pooled": train + test}


def spearman(x, y) -> dict:
    from scipy.stats import spearmanr

    pairs = [(a, b) for a, b in zip(x, y) if a is not None and b is not None]
    if len(pairs) < 4:
        return {"rho": None, "p": None, "n": len(pairs)}
    res = spearmanr([a for a, _ in pairs], [b for _, b in pairs])
    return {"rho": float(res.statistic), "p": float(res.pvalue), "n": len(pairs)}


def md_table(headers, rows) -> str:
    def f(v):
        if v is None:
            return "n/a"
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(f(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cap", type=int, default=400_000, help="bytes per corpus (default 400000)")
    ap.add_argument("--noise-cap", type=int, default=200_000)
    ap.add_argument("--train", type=int, default=200_000)
    ap.add_argument("--held", type=int, default=32_000)
    ap.add_argument("--lm-bytes", type=int, default=64_000, help="bytes for lm:online (0: skip)")
    ap.add_argument("--curve-bytes", type=int, default=256_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "score_validity.json"))
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    data_dir = find_data()
    seed = args.seed

    loaders = {
        "python-stdlib": load_python, "c-headers": load_c_headers, "bible-kjv": load_bible_chapters,
        "fortunes-en": load_fortunes_en, **{f"fortunes-{c}": (lambda c=c: load_fortunes_lang(c)) for c in FORTUNE_LANGS},
        "fortunes-zh": load_fortunes_zh, "fortunes-pt": load_fortunes_pt,
        "debian-descriptions": lambda: load_debian(data_dir), "iso-codes-json": lambda: load_iso("json"),
        "iso-codes-xml": lambda: load_iso("xml"), "genome-SS_SC84": load_genome, "random-bytes": load_random,
    }
    corpora: dict[str, list] = {}
    missing = []
    for name, fn in loaders.items():
        samples = fn()
        if not samples:
            missing.append(name)
            continue
        corpora[name] = samples
    print(f"corpora: {', '.join(corpora)}; missing: {', '.join(missing) or 'none'}", file=sys.stderr)

    # ---- 1. score table -------------------------------------------------------------------
    table = []
    for name, samples in corpora.items():
        capped = cap_samples(samples, args.cap, seed)
        table.append(score_row(name, capped, args.curve_bytes, seed))
        print(f"  scored {name}: {table[-1]['seconds']:.1f}s", file=sys.stderr)
    iso_pair = {}
    if "iso-codes-json" in corpora and "iso-codes-xml" in corpora:
        for kind in ("json", "xml"):  # the same tables in two syntaxes: total information
            blob = "".join(corpora[f"iso-codes-{kind}"]).encode()
            iso_pair[kind] = {"bytes": len(blob), **{f"bits_{s}": get_compressor(s).size_bits(blob)
                                                    for s in ("gzip", "zstd:19", "lzma")}}

    # ---- 2. monotonicity under noise -----------------------------------------------------------
    noise_levels = [0.0, 0.1, 0.3, 0.5]
    noise = []
    for name in ("debian-descriptions", "python-stdlib", "bible-kjv"):
        if name not in corpora:
            continue
        base = as_text(cap_samples(corpora[name], args.noise_cap, seed))
        rows = []
        for p in noise_levels:
            rng = random.Random(seed + int(p * 1000))
            noisy = [inject_noise(s, p, rng) for s in base]
            r = score_row(f"{name}+{int(p * 100)}%", noisy, args.curve_bytes // 2, seed)
            rows.append({"noise": p, **r})
        keys = [k for k in rows[0] if k.startswith("bpb_")] + ["gzip_compressibility", "curve_E"]
        mono = {k: all(rows[i + 1][k] is not None and rows[i][k] is not None and rows[i + 1][k] > rows[i][k]
                       for i in range(len(rows) - 1)) for k in keys}
        noise.append({"corpus": name, "rows": rows, "strictly_increasing": mono})
        print(f"  noise {name}: {mono}", file=sys.stderr)

    # ---- 3. learnability ----------------------------------------------------------------
    real = [r for r in table if r["corpus"] != "random-bytes"]
    use_lm = args.lm_bytes > 0 and compressor_usable("lm:online")
    outcomes = {}
    for r in real:
        name = r["corpus"]
        o = {}
        try:  # mean over 3 seeded splits: corpora of a few large files (code) vary split to split
            vals = [heldout_bits_per_byte(corpora[name], args.train, args.held, "ppmd", seed + 10 * k)
                    for k in range(3)]
            o["heldout_ppmd_bpb"] = float(np.mean(vals))
            o["heldout_ppmd_bpb_splits"] = vals
        except ValueError as exc:
            o["heldout_ppmd_bpb"] = None
            o["note"] = str(exc)
        if use_lm:
            t0 = time.perf_counter()
            o["lm_online_final_bpb"] = lm_final_loss(corpora[name], args.lm_bytes, seed)
            o["lm_seconds"] = time.perf_counter() - t0
        outcomes[name] = o
        print(f"  learn {name}: {o}", file=sys.stderr)
    predictors = ["gzip_compressibility"] + [f"bpb_{get_compressor(s).spec}" for s in SCORE_COMPRESSORS] + \
                 ["curve_E", "curve_final_bpb", f"redundancy_{get_compressor('lzma').spec}"]
    outcome_keys = ["heldout_ppmd_bpb"] + (["lm_online_final_bpb"] if use_lm else [])
    corr = {ok: {pk: spearman([r[pk] for r in real], [outcomes[r["corpus"]].get(ok) for r in real])
                 for pk in predictors} for ok in outcome_keys}

    # labelled sets: NCD 1-NN accuracy vs the scorer's numbers on the pooled task data
    tasks = []
    rows = load_debian(data_dir, with_meta=True)
    sections = ["games", "science", "sound", "graphics", "mail", "database"]
    by_sec: dict[str, dict[str, list]] = {}
    for row in rows:  # one description per source package: no leakage between near copies
        if row["section"] in sections:
            by_sec.setdefault(row["section"], {}).setdefault(row["source"], row["text"])
    tasks.append(("debian-sections-6", {k: list(v.values()) for k, v in by_sec.items()}))
    dev_secs = ["libdevel", "devel", "libs", "utils", "admin", "net"]  # generic sections: a harder task
    by_dev: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["section"] in dev_secs:
            by_dev.setdefault(row["section"], {}).setdefault(row["source"], row["text"])
    tasks.append(("debian-sections-generic-6", {k: list(v.values()) for k, v in by_dev.items()}))
    langs = {c: load_fortunes_lang(c) for c in FORTUNE_LANGS}
    langs["en"] = load_fortunes_en()
    langs["zh"], langs["pt"] = load_fortunes_zh(), load_fortunes_pt()
    langs = {k: [x for x in v if 40 <= len(x) <= 400] for k, v in langs.items() if v}
    if len(langs) >= 3:
        tasks.append((f"fortunes-language-{len(langs)}", langs))
    for group, codes in (("romance", ("es", "it", "pt")), ("west-slavic", ("pl", "cs"))):
        sub = {c: langs[c] for c in codes if c in langs}
        if len(sub) >= 2:
            tasks.append((f"fortunes-{group}-{len(sub)}", sub))
    de_dir = FORTUNES / "de"
    if de_dir.is_dir():
        de_topics = {f.name: [x for x in read_fortune_file(f) if len(x) <= 600] for f in sorted(de_dir.iterdir())
                     if f.is_file() and not f.name.endswith((".dat", ".u8"))}
        de_topics = dict(sorted(((k, v) for k, v in de_topics.items() if len(v) >= 60),
                                key=lambda kv: -len(kv[1]))[:8])
        if len(de_topics) >= 3:
            tasks.append((f"fortunes-de-topics-{len(de_topics)}", de_topics))
    en = load_fortunes_en(by_file=True)
    if en:
        topics = {k: [x for x in en[k] if len(x) <= 600] for k in ("computers", "food", "law", "love", "medicine",
                                                                   "science", "sports", "politics") if k in en}
        tasks.append((f"fortunes-en-topics-{len(topics)}", topics))
    fmt = {}
    for name in ("python-stdlib", "c-headers", "iso-codes-json", "iso-codes-xml", "bible-kjv", "genome-SS_SC84"):
        if name in corpora:
            fmt[name] = [c for s in as_text(corpora[name])[:400] for c in chunk_lines(s, 1024)][:600]
    if len(fmt) >= 3:
        tasks.append((f"file-format-{len(fmt)}", fmt))
    knn = []
    for name, labelled in tasks:
        t0 = time.perf_counter()
        res = knn_task(name, labelled, 40, 20, seed)
        pooled = res.pop("pooled")
        sr = score_row(name, pooled, args.curve_bytes // 2, seed)
        knn.append({**res, **{k: sr[k] for k in predictors}, "seconds": time.perf_counter() - t0})
        print(f"  knn {name}: acc {res['accuracy']:.3f}", file=sys.stderr)
    knn_corr = {pk: spearman([k[pk] for k in knn], [k["accuracy_over_chance"] for k in knn]) for pk in predictors}

    result = {
        "description": "kcomp score validity: score table, monotonicity under noise, compressibility vs learnability",
        "settings": vars(args) | {"score_compressors": SCORE_COMPRESSORS, "curve_compressor": "ppmd",
                                  "lm_online_used": use_lm, "noise_levels": noise_levels},
        "missing_corpora": missing, "score_table": table, "iso_json_vs_xml": iso_pair, "noise": noise,
        "learnability": {"outcomes": outcomes, "spearman": corr},
        "knn": {"tasks": knn, "spearman_vs_accuracy_over_chance": knn_corr},
        "seconds": time.perf_counter() - t_start,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=lambda o: None) + "\n")

    # ---- Markdown ------------------------------------------------------------------------
    bpbk = [f"bpb_{get_compressor(s).spec}" for s in SCORE_COMPRESSORS]
    print("## Score table (bits/byte of the whole set; gzip-compressibility = median per-sample gzip ratio)\n")
    print(md_table(["corpus", "samples", "bytes", "gzip-compr.", *[k[4:] for k in bpbk], "shared (lzma)",
                    "exact dup", "near dup", "curve E ± se (ppmd)", "b"],
                   [[r["corpus"], r["n_samples"], r["bytes"], r["gzip_compressibility"], *[r[k] for k in bpbk],
                     r[f"redundancy_{get_compressor('lzma').spec}"], r["exact_dup_fraction"], r["near_dup_fraction"],
                     None if r["curve_E"] is None else f"{r['curve_E']:.2f} ± {r['curve_E_se']:.2f}", r["curve_b"]]
                    for r in table]))
    if iso_pair:
        print("\n## ISO tables: the same information as JSON and as XML (total compressed bits)\n")
        print(md_table(["syntax", "bytes", "gzip bits", "zstd:19 bits", "lzma bits"],
                       [[k, v["bytes"], v["bits_gzip"], v["bits_zstd:19"], v["bits_lzma"]] for k, v in iso_pair.items()]))
    print("\n## Monotonicity under injected noise (bits/byte; ✓ = strictly increasing)\n")
    for nz in noise:
        keys = [k for k in nz["rows"][0] if k.startswith("bpb_")] + ["gzip_compressibility", "curve_E"]
        print(f"**{nz['corpus']}**\n")
        print(md_table(["noise", *keys], [[f"{int(r['noise'] * 100)}%", *[r[k] for k in keys]] for r in nz["rows"]]
                       + [["monotone", *["✓" if nz["strictly_increasing"][k] else "✗" for k in keys]]]))
        print()
    print("## Compressibility vs learnability (Spearman over real corpora)\n")
    print(md_table(["corpus", "bpb lzma", "gzip-compr.", "held-out PPMd bpb", "lm:online final bpb"],
                   [[r["corpus"], r[bpbk[-1]], r["gzip_compressibility"], outcomes[r["corpus"]].get("heldout_ppmd_bpb"),
                     outcomes[r["corpus"]].get("lm_online_final_bpb")] for r in real]))
    print()
    print(md_table(["predictor", *[f"rho vs {o} (p)" for o in outcome_keys]],
                   [[pk, *[(f"{corr[o][pk]['rho']:.2f} ({corr[o][pk]['p']:.2g}), n={corr[o][pk]['n']}"
                            if corr[o][pk]["rho"] is not None else "n/a") for o in outcome_keys]] for pk in predictors]))
    print("\n## NCD 1-NN accuracy on labelled sets (gzip, 40 train + 20 test per class)\n")
    print(md_table(["task", "classes", "accuracy", "chance", "(acc-chance)/(1-chance)", "gzip-compr.", "bpb lzma"],
                   [[k["task"], k["classes"], k["accuracy"], k["chance"], k["accuracy_over_chance"],
                     k["gzip_compressibility"], k[bpbk[-1]]] for k in knn]))
    print()
    print(md_table(["predictor", "rho vs kNN (acc-chance)/(1-chance) (p)"],
                   [[pk, f"{v['rho']:.2f} ({v['p']:.2g}), n={v['n']}" if v["rho"] is not None else f"n/a (n={v['n']})"]
                    for pk, v in knn_corr.items()]))
    print(f"\n(total {result['seconds']:.0f} s; JSON: {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
