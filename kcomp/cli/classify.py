"""``kcomp classify``: train and evaluate a compression classifier on files or a named dataset."""

from __future__ import annotations

import sys
import time
import warnings

from kcomp.cli.common import add_json_arg, compressor_spec, format_table, print_json
from kcomp.errors import InputError

#: knn, then CompressionClassifier's methods (kcomp.classifiers.compression.METHODS; not imported
#: here so that the CLI starts without scikit-learn)
METHODS = ("knn", "dict", "concat", "word", "word-vs-rest", "stack", "auto")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "classify",
        help="train/evaluate a compression classifier (kNN under NCD, class models, stacked code lengths, auto)",
        description="Fit on --train and evaluate on --test (JSONL/CSV, optionally .gz), or on a built-in "
        "--dataset. Prints fair accuracy (one label per text; the tie rule is named), macro-F1, the "
        "confusion matrix and timings.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--train", metavar="FILE", help="training file (.jsonl/.csv[.gz]) with text and label fields")
    src.add_argument("--dataset", metavar="NAME", help="built-in dataset: debian_topics, fortunes_language, "
                     "gettext_language (see kcomp.datasets.list_datasets)")
    p.add_argument("--test", metavar="FILE", help="test file (required with --train)")
    p.add_argument("--text-field", default="text", help="field holding the text (default: text)")
    p.add_argument("--label-field", default="label", help="field holding the label (default: label)")
    p.add_argument("--n-train", type=int, default=1000, help="--dataset: training texts, spread over classes (1000)")
    p.add_argument("--n-test", type=int, default=200, help="--dataset: test texts (200)")
    p.add_argument("--seed", type=int, default=0, help="--dataset split seed and random tie-break seed (0)")
    p.add_argument("--method", choices=METHODS, default="knn",
                   help="knn: k nearest neighbours under NCD (default); dict: one zstd dictionary per class; "
                   "concat: C(class text + x) - C(class text); word: an adaptive word model per class; "
                   "word-vs-rest: its bits minus those under the other classes; stack: code lengths of several "
                   "class models "
                   "-> logistic regression; auto: method and compressor chosen by cross-validation on --train")
    p.add_argument("--class-models", nargs="+", metavar="MODEL",
                   help="stack/auto: class models, 'dict', 'word', 'word-vs-rest' or compressor specs "
                   "(default: dict gzip ppmd:2 ppmd:4 word word-vs-rest)")
    p.add_argument("--k", default="1", help="knn: neighbours, an int or 'auto' (leave-one-out on train) (1)")
    p.add_argument("--compressor", "-c", type=compressor_spec, default=None, metavar="SPEC",
                   help="compressor spec (default: gzip for knn/concat, zstd:19 for dict)")
    p.add_argument("--tie-break", choices=("nearest", "random", "lowest"), default="nearest",
                   help="knn: rule for classes tied on votes (nearest)")
    p.add_argument("--weights", choices=("uniform", "distance"), default="uniform", help="knn vote weights")
    p.add_argument("--symmetric", action="store_true", help="knn: joint size min(C(xy), C(yx))")
    p.add_argument("--n-jobs", "-j", type=int, default=1, help="worker processes, -1 for all cores (1)")
    p.add_argument("--backend", default="processes", metavar="BACKEND",
                   help="knn: 'processes' (default), 'dask' (local Dask cluster of --n-jobs workers) or a Dask "
                        "scheduler address such as tcp://host:8786")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="knn: keep finished NCD blocks in DIR; rerunning with the same DIR resumes a killed run")
    add_json_arg(p)
    p.set_defaults(func=run)


def _read_split(path: str, text_field: str, label_field: str):
    from kcomp.io import iter_records

    texts, labels = [], []
    for n, row in enumerate(iter_records(path), 1):
        for f in (text_field, label_field):
            if f not in row:
                raise InputError(f"{path}: row {n} has no field {f!r}; fields are {', '.join(map(str, row))} "
                                 "(use --text-field/--label-field)")
        if not isinstance(row[text_field], str):
            raise InputError(f"{path}: row {n}: field {text_field!r} must be a string")
        texts.append(row[text_field])
        labels.append(row[label_field])
    if not texts:
        raise InputError(f"{path}: holds no rows")
    return texts, labels


def _make(args):
    from kcomp.classifiers import CompressionClassifier, NCDKNNClassifier

    if args.method == "knn":
        k = args.k if args.k == "auto" else _int_k(args.k)
        return NCDKNNClassifier(k=k, compressor=args.compressor or "gzip", tie_break=args.tie_break,
                                random_state=args.seed, symmetric=args.symmetric, n_jobs=args.n_jobs,
                                weights=args.weights, backend=args.backend, checkpoint_dir=args.checkpoint,
                                progress=None)
    return CompressionClassifier(method=args.method, compressor=args.compressor, class_models=args.class_models,
                                 random_state=args.seed, n_jobs=args.n_jobs)


def _int_k(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InputError(f"--k must be a positive int or 'auto'; got {value!r}") from None


def run(args) -> int:
    import numpy as np
    from sklearn.metrics import confusion_matrix, f1_score

    if args.train is not None:
        if args.test is None:
            raise InputError("--train needs --test")
        X_train, y_train = _read_split(args.train, args.text_field, args.label_field)
        X_test, y_test = _read_split(args.test, args.text_field, args.label_field)
        source = {"train": args.train, "test": args.test}
    else:
        if args.test is not None:
            raise InputError("--test goes with --train, not with --dataset")
        from kcomp.datasets import load_dataset

        splits = load_dataset(args.dataset, args.n_train, args.n_test, seed=args.seed)
        (X_train, y_train), (X_test, y_test) = splits
        source = {"dataset": args.dataset, **{k: v for k, v in splits.info.items() if k != "classes"}}

    clf = _make(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        clf.fit(X_train, y_train)
        t1 = time.perf_counter()
        pred = clf.predict(X_test)
        t2 = time.perf_counter()
    notes = [str(w.message) for w in caught]
    for msg in notes:
        print(f"kcomp: warning: {msg}", file=sys.stderr)

    classes = list(clf.classes_)
    labels_seen = classes + sorted({y for y in y_test if y not in set(classes)}, key=str)
    y_true = np.array(y_test, dtype=object)
    y_pred = np.array(pred.tolist(), dtype=object)
    acc = float(np.mean(y_true == y_pred))
    f1 = float(f1_score(y_true, y_pred, labels=labels_seen, average="macro", zero_division=0))
    cm = confusion_matrix(y_true, y_pred, labels=labels_seen)
    result = {
        "method": args.method, "compressor": _compressor_name(clf), "params": _jsonable_params(clf),
        "tie_rule": _rule(args, clf),
        "accuracy": acc, "macro_f1": f1, "n_train": len(X_train), "n_test": len(X_test),
        "fit_seconds": t1 - t0, "predict_seconds": t2 - t1, "labels": labels_seen,
        "confusion_matrix": cm.tolist(), "source": source, "warnings": notes,
    }
    if args.method == "knn":
        result["k"] = int(clf.k_)
        if getattr(clf, "loo_accuracy_", None):
            result["loo_accuracy"] = clf.loo_accuracy_
    if args.method == "auto":
        result["chosen"] = clf.best_params_
        result["cv_accuracy"] = {_describe(p): float(m) for p, m in
                                 zip(clf.cv_results_["params"], clf.cv_results_["mean_test_score"])}
    if args.json:
        print_json(result)
        return 0
    rule = result["tie_rule"]
    if args.method == "auto":
        print(f"auto chose {_describe(clf.best_params_)} (cross-validated accuracy on train "
              f"{clf.best_score_:.4f})")
    print(f"{args.method} [{result['compressor']}] on {len(X_train)} train / {len(X_test)} test texts, "
          f"{len(classes)} classes")
    print(f"accuracy  {acc:.4f}  (fair: one label per text; {rule})")
    print(f"macro-F1  {f1:.4f}")
    print(f"fit {t1 - t0:.2f} s, predict {t2 - t1:.2f} s ({1000 * (t2 - t1) / len(X_test):.2f} ms/text)")
    print("\nconfusion matrix (rows: true, columns: predicted)")
    names = [str(c) for c in labels_seen]  # full labels: cutting them can make two columns alike
    print(format_table(["true \\ pred"] + names, [[n] + list(map(int, row)) for n, row in zip(names, cm)]))
    return 0


def _compressor_name(clf) -> str:
    """The compressor(s) behind the fitted classifier, as spec strings."""
    if getattr(clf, "method_", None) == "stack" or clf.compressor_ is None:  # no codec: the word models
        return " + ".join(m.name for m in clf.class_models_)
    return clf.compressor_.spec


def _describe(params: dict) -> str:
    return ", ".join(f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in params.items())


def _jsonable_params(clf) -> dict:
    from kcomp.compressors import Compressor

    return {k: v.spec if isinstance(v, Compressor) else v for k, v in clf.get_params().items()}


def _rule(args, clf) -> str:
    if args.method == "knn":
        return f"k={clf.k_}, ties: {args.tie_break}" + (", distance-weighted" if args.weights == "distance" else "")
    if clf.method_ == "stack":
        return "argmax of the logistic regression on code lengths (equal scores: lowest class)"
    return "argmin code length (equal lengths: lowest class)"
