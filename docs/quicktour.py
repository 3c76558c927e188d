"""The README's quick tour, runnable as pasted: ``python docs/quicktour.py`` (about 10 s).

tests/test_quicktour.py runs this file and checks what it prints.
"""

import kcomp

print(kcomp.list_compressors())      # brotli, bz2, deflate, gzip, lm, lz4, lzma, ppmd, xz, zlib, zstd
gz = kcomp.get_compressor("gzip")    # specs: FAMILY[:LEVEL][:FLAG...], e.g. "zstd:19:long", "gzip:headerless"
print(gz.size_bits(b""))             # 160.0: the 20-byte gzip stream of empty input

x, y = "the cat sat on the mat", "the cat sat on the hat"
print(kcomp.K(x))                    # C(x) in bits
print(kcomp.K_cond(y, x))            # C(x + " " + y) - C(x): the cost of y once x is known
print(kcomp.ncd(x, y, "zstd:19"))    # (C(xy) - min(C(x), C(y))) / max(C(x), C(y))

# a real labelled dataset, bundled with kcomp: Debian package descriptions -> archive section,
# split by source package (no package and no identical text in both train and test)
(train_texts, train_labels), (test_texts, test_labels) = kcomp.datasets.load_debian_topics(
    120, 36, source="bundled")
print(kcomp.ncd_matrix(test_texts[:2], train_texts[:3], "gzip").shape)   # (2, 3)

from kcomp import NCDKNNClassifier  # noqa: E402  (a scikit-learn estimator)

clf = NCDKNNClassifier(k=1, compressor="gzip").fit(train_texts, train_labels)
print(f"accuracy {clf.score(test_texts, test_labels):.3f} over 12 sections (chance 0.083)")
