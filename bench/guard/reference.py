"""TF-IDF + logistic-regression reference for the prompt-injection guard.

Trains on exactly the train side of the split written by `guard_eval --dump-split`,
calibrates on its calibration side and reports the same metrics as Rampart on its test side.
"""

import argparse
import json
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import FeatureUnion

BENIGN = ["benign-prompt", "benign-context", "security-prose"]


def macro_weights(categories):
    counts = {c: categories.count(c) for c in set(categories)}
    k = len(counts)
    return np.array([1.0 / (k * counts[c]) for c in categories])


def threshold_at(neg, weights, fpr):
    """Lowest threshold whose flagged (score >= t) weight is at most fpr."""
    order = np.argsort(-neg, kind="stable")
    s, w = neg[order], weights[order]
    flagged, i = 0.0, 0
    while i < len(s):
        j = i
        tie = 0.0
        while j < len(s) and s[j] == s[i]:
            tie += w[j]
            j += 1
        if flagged + tie > fpr + 1e-9:
            return np.nextafter(s[i], np.inf)
        flagged += tie
        i = j
    return s[-1] if len(s) else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.split, encoding="utf-8")]
    side = {s: [r for r in rows if r["side"] == s] for s in ("train", "calibration", "test")}

    vec = FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True, max_features=300_000)),
        ]
    )
    started = time.perf_counter()
    x_train = vec.fit_transform([r["text"] for r in side["train"]])
    y_train = np.array([r["label"] for r in side["train"]])
    clf = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
    clf.fit(x_train, y_train)
    train_seconds = time.perf_counter() - started

    def scores(items):
        return clf.decision_function(vec.transform([r["text"] for r in items]))

    cal_neg = [r for r in side["calibration"] if r["label"] == 0]
    cal_scores = scores(cal_neg)
    shipped = threshold_at(cal_scores, macro_weights([r["category"] for r in cal_neg]), 0.01)

    test = side["test"]
    texts = [r["text"] for r in test]
    started = time.perf_counter()
    s = scores(test)
    elapsed = time.perf_counter() - started
    kb = sum(len(t.encode("utf-8")) for t in texts) / 1024
    labels = np.array([r["label"] for r in test])
    cats = [r["category"] for r in test]
    neg_idx = [i for i, r in enumerate(test) if r["label"] == 0]
    neg = s[neg_idx]
    neg_cats = [cats[i] for i in neg_idx]
    pooled_t = threshold_at(neg, np.full(len(neg), 1.0 / len(neg)), 0.01)
    pooled_t01 = threshold_at(neg, np.full(len(neg), 1.0 / len(neg)), 0.001)
    macro_t = threshold_at(neg, macro_weights(neg_cats), 0.01)

    def detection(category):
        pos = np.array([s[i] for i, c in enumerate(cats) if c == category])
        y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
        return {
            "positives": int(len(pos)),
            "roc_auc": float(roc_auc_score(y, np.concatenate([pos, neg]))),
            "tpr_at_1pct_fpr": float(np.mean(pos >= pooled_t)),
            "tpr_at_1pct_macro_fpr": float(np.mean(pos >= macro_t)),
            "tpr_at_01pct_fpr": float(np.mean(pos >= pooled_t01)),
            "tpr_at_shipped_threshold": float(np.mean(pos >= shipped)),
        }

    fpr_by_category = {}
    for c in BENIGN:
        v = np.array([s[i] for i, cc in enumerate(cats) if cc == c])
        if len(v):
            fpr_by_category[c] = [int(len(v)), float(np.mean(v >= shipped))]
    fpr_by_source = {}
    for src in sorted({r["source"] for r in test if r["label"] == 0}):
        v = np.array([s[i] for i, r in enumerate(test) if r["label"] == 0 and r["source"] == src])
        fpr_by_source[src] = [int(len(v)), float(np.mean(v >= shipped))]
    out = {
        "what": "TF-IDF (word 1-2 grams + char_wb 3-5 grams, sublinear tf) + logistic regression (C=4, balanced), whole documents, same split",
        "train_seconds": train_seconds,
        "direct": detection("direct-injection"),
        "indirect": detection("indirect-injection"),
        "fpr_at_shipped_threshold": float(np.mean(neg >= shipped)),
        "macro_fpr_at_shipped_threshold": float(np.mean([v[1] for v in fpr_by_category.values()])),
        "fpr_by_category": fpr_by_category,
        "fpr_by_source": fpr_by_source,
        "fpr_security_prose": fpr_by_category.get("security-prose", [0, 0.0])[1],
        "latency_us_per_kb_test_split": elapsed * 1e6 / kb,
        "labels_checked": int(labels.sum()),
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
    print(json.dumps({k: out[k] for k in ("direct", "indirect", "fpr_by_category")}, indent=2))


if __name__ == "__main__":
    main()
