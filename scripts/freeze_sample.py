#!/usr/bin/env python
"""Freeze the small real Debian-topics sample bundled in kcomp (kcomp/data/).

It is a split made by ``kcomp.datasets.load_debian_topics`` from the shared snapshot
(debian-descriptions.jsonl.gz): 12 sections x 100 train + 20 test rows, train and test
sharing no source package and no text. Rows: {"split", "section", "source", "text"}.
The output is byte-for-byte reproducible (sorted rows, gzip mtime 0).

    python scripts/freeze_sample.py [--n-train-per-class 100] [--n-test-per-class 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

from kcomp.datasets import BUNDLED_DEBIAN_SAMPLE, DEBIAN_SECTIONS, load_debian_topics


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train-per-class", type=int, default=100)
    ap.add_argument("--n-test-per-class", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=BUNDLED_DEBIAN_SAMPLE)
    args = ap.parse_args(argv)
    n = len(DEBIAN_SECTIONS)
    splits = load_debian_topics(args.n_train_per_class * n, args.n_test_per_class * n, seed=args.seed,
                                source="shared")
    rows = []
    for name, (texts, labels), groups in (("train", splits.train, splits.train_groups),
                                          ("test", splits.test, splits.test_groups)):
        rows += [{"split": name, "section": y, "source": g, "text": t} for t, y, g in zip(texts, labels, groups)]
    assert not {r["source"] for r in rows if r["split"] == "train"} & {r["source"] for r in rows if r["split"] == "test"}
    rows.sort(key=lambda r: (r["split"], r["section"], r["source"], r["text"]))
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        for r in rows:
            gz.write((json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(buf.getvalue())
    print(f"wrote {args.out} ({len(rows)} rows, {len(buf.getvalue())} bytes) from {splits.info['source']}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
