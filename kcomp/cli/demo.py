"""``kcomp demo``: the main job end to end on the real Debian sample bundled in the package.

1. how compressible the training texts are (the dataset scorer);
2. topic classification by compression: fair NCD 1-NN (gzip, the Jiang et al. method) and
   class-conditional models (gzip, zstd dictionaries, adaptive word models), with accuracy
   (tie rule named) and timings.
No network, no files outside the package; about a minute on 2 cores.
"""

from __future__ import annotations

import time

from kcomp.cli.common import add_json_arg, add_n_jobs_arg, format_table, print_json


def run_demo(n_jobs: int = 1, quick: bool = False) -> dict:
    import numpy as np
    from sklearn.metrics import f1_score

    from kcomp.classifiers import CompressionClassifier, NCDKNNClassifier
    from kcomp.datasets import load_debian_topics
    from kcomp.score import score_dataset

    split = load_debian_topics(source="bundled", n_train=None, n_test=None)
    (X_train, y_train), (X_test, y_test) = split
    if quick:
        X_test, y_test = X_test[::4], y_test[::4]
    report: dict = {"dataset": {"name": "Debian package descriptions, 12 sections (bundled sample)",
                                "n_train": len(X_train), "n_test": len(X_test),
                                "classes": sorted(set(map(str, y_train))),
                                "split": "by Debian source package; no source or identical text in both"}}

    t = time.perf_counter()
    score = score_dataset(list(X_train), ["gzip", "zstd:19", "ppmd"], curve_bytes=0 if quick else None,
                          progress=False)
    sd = score.to_dict()
    report["compressibility"] = {"seconds": time.perf_counter() - t, **{
        k: sd[k] for k in ("n_samples", "n_bytes") if k in sd}, "compressors": sd.get("compressors"),
        "exact_duplicates": sd.get("exact_duplicates"), "near_duplicates": sd.get("near_duplicates")}

    models = {
        "NCD 1-NN, gzip (Jiang et al. 2023, fair)": NCDKNNClassifier(k=1, compressor="gzip", n_jobs=n_jobs),
        "class-conditional gzip (concatenation)": CompressionClassifier(method="concat", compressor="gzip"),
        "class-conditional zstd:19 dictionaries": CompressionClassifier(method="dict"),
        "class-conditional adaptive word models (vs rest)": CompressionClassifier(method="word-vs-rest"),
    }
    rows = []
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(X_train, y_train)
        t1 = time.perf_counter()
        pred = model.predict(X_test)
        t2 = time.perf_counter()
        rows.append({"method": name, "accuracy": float(np.mean(pred == np.asarray(y_test))),
                     "macro_f1": float(f1_score(y_test, pred, average="macro")),
                     "fit_s": t1 - t0, "predict_s": t2 - t1,
                     "tie_rule": getattr(model, "tie_break", "n/a (argmin of code length)")})
    report["classification"] = rows
    report["_score_markdown"] = score.to_markdown()
    return report


def cmd_demo(args) -> int:
    report = run_demo(n_jobs=args.n_jobs, quick=args.quick)
    md = report.pop("_score_markdown")
    if args.json:
        print_json(report)
        return 0
    d = report["dataset"]
    print(f"kcomp demo: {d['name']}\n  {d['n_train']} train / {d['n_test']} test texts, "
          f"{len(d['classes'])} classes, split {d['split']}\n")
    print("## 1. How compressible is the training set?\n")
    print(md)
    print("\n## 2. Topic classification by compression (accuracy: ties never count as correct)\n")
    print(format_table(["method", "accuracy", "macro-F1", "fit s", "predict s", "tie rule"],
                       [[r["method"], r["accuracy"], r["macro_f1"], r["fit_s"], r["predict_s"], r["tie_rule"]]
                        for r in report["classification"]], floatfmt=".3f"))
    print("\nNext: 'kcomp classify --dataset debian-topics', 'kcomp score FILE', 'kcomp --help'.")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the main job on the real Debian sample bundled with kcomp",
                       description=__doc__)
    add_n_jobs_arg(p, what="NCD kNN")
    p.add_argument("--quick", action="store_true", help="a quarter of the test set, no learning curve")
    add_json_arg(p)
    p.set_defaults(func=cmd_demo)
