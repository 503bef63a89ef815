#!/usr/bin/env python3
"""ATT&CK coverage of Rampart's whole pipeline on labelled attack datasets.

For every Windows dataset of the OTRF Security-Datasets (labels: `index.csv`) and each of the
three Splunk attack_data runs (label: the folder name), runs `rampart run` into a fresh data dir
with every loadable SigmaHQ rule (the shared archive, not only the bundled subset), then reads
the incidents and alerts back with `rampart incidents list --json` / `alerts list --json` and
reports:

- technique hit: some incident holds a labelled technique (a sub-technique counts for its parent
  and the parent for its sub-techniques), and that incident does not hold more than
  MAX_TECHNIQUES techniques (an incident that holds everything says nothing);
- tactic hit: some alert is tagged with one of the dataset's labelled tactics (the measure the
  Hayabusa and Chainsaw figures in the issue use);
- incidents per dataset, techniques per incident, techniques found outside the label, and the
  rules that fired.

Usage: python3 bench/correlate/coverage.py [--binary target/release/rampart] [--limit N]
Writes bench/results/correlate-coverage.json.
"""
import argparse
import collections
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("RAMPART_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
MAX_TECHNIQUES = 25

TACTIC_IDS = {
    "TA0043": "reconnaissance", "TA0042": "resource-development", "TA0001": "initial-access",
    "TA0002": "execution", "TA0003": "persistence", "TA0004": "privilege-escalation",
    "TA0005": "defense-evasion", "TA0006": "credential-access", "TA0007": "discovery",
    "TA0008": "lateral-movement", "TA0009": "collection", "TA0011": "command-and-control",
    "TA0010": "exfiltration", "TA0040": "impact",
}
# SigmaHQ tags the ATT&CK v18 tactic "stealth" where older labels say defense evasion.
TACTIC_ALIASES = {"stealth": "defense-evasion"}


def norm_tactic(name):
    t = name.strip().lower().replace(" ", "-").replace("_", "-")
    return TACTIC_ALIASES.get(t, t)


def technique_match(found, labelled):
    f, l = found.upper(), labelled.upper()
    return f == l or f.split(".")[0] == l or l.split(".")[0] == f


def datasets():
    out = []
    index = os.path.join(SHARED, "otrf-security-datasets", "index.csv")
    with open(index, newline="") as f:
        for row in csv.DictReader(f):
            if row["platform"] != "Windows" or not row["files_included"]:
                continue
            files = [os.path.join(SHARED, "otrf-security-datasets", p)
                     for p in row["files_included"].split(";") if p]
            files = [p for p in files if os.path.exists(p)]
            if not files:
                continue
            out.append({
                "id": row["id"], "title": row["title"], "corpus": "otrf", "files": files,
                "techniques": [t for t in row["attack_techniques"].split(";") if t],
                "tactics": [TACTIC_IDS.get(t, t) for t in row["attack_tactics"].split(";") if t],
            })
    splunk = os.path.join(SHARED, "splunk-attack-data-sample")
    tactic_of = {"T1027": ["defense-evasion"], "T1047": ["execution"],
                 "T1053.005": ["execution", "persistence", "privilege-escalation"]}
    for technique in sorted(os.listdir(splunk)):
        archive = os.path.join(splunk, technique, "attack_data.tar.gz")
        if os.path.exists(archive):
            out.append({"id": f"splunk-{technique}", "title": f"Splunk attack_data {technique}",
                        "corpus": "splunk", "files": [archive], "techniques": [technique],
                        "tactics": tactic_of.get(technique, [])})
    return out


def rampart(binary, data_dir, config, *args):
    env = dict(os.environ, RAMPART_LOG="warn", RAMPART_CONFIG=config)
    result = subprocess.run([binary, "--data-dir", data_dir, *args, "--json"], env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"rampart {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout)


def evaluate(binary, config, dataset):
    with tempfile.TemporaryDirectory(prefix="rampart-cov-") as data_dir:
        started = time.perf_counter()
        args = ["run"]
        for f in dataset["files"]:
            args += ["--input", f]
        run = rampart(binary, data_dir, config, *args)
        elapsed = time.perf_counter() - started
        incidents = rampart(binary, data_dir, config, "incidents", "list")
        alerts = rampart(binary, data_dir, config, "alerts", "list")
    found = set()
    hit_incidents = 0
    for inc in incidents:
        techniques = inc["techniques"]
        found.update(techniques)
        if len(techniques) <= MAX_TECHNIQUES and any(
                technique_match(t, l) for t in techniques for l in dataset["techniques"]):
            hit_incidents += 1
    alert_tactics = {norm_tactic(t) for a in alerts for t in a["tactics"]}
    tactic_hit = any(norm_tactic(t) in alert_tactics for t in dataset["tactics"])
    outside = sorted(t for t in found
                     if not any(technique_match(t, l) for l in dataset["techniques"]))
    rules = collections.Counter(a["title"] for a in alerts if a["kind"] == "sigma")
    return {
        "id": dataset["id"], "title": dataset["title"], "corpus": dataset["corpus"],
        "labelled_techniques": dataset["techniques"], "labelled_tactics": dataset["tactics"],
        "events": run["events_stored"], "dead_letters": run["dead_letters"],
        "alerts": len(alerts), "incidents": len(incidents),
        "technique_hit": hit_incidents > 0, "tactic_hit": tactic_hit,
        "techniques_per_incident": [len(i["techniques"]) for i in incidents],
        "techniques_outside_label": outside,
        "rules_fired": dict(rules.most_common()),
        "seconds": round(elapsed, 3),
    }


def summarise(rows):
    def rate(key, subset):
        return round(sum(r[key] for r in subset) / len(subset), 4) if subset else None
    out = {}
    for corpus in ("otrf", "splunk"):
        subset = [r for r in rows if r["corpus"] == corpus]
        per_incident = [n for r in subset for n in r["techniques_per_incident"]]
        out[corpus] = {
            "datasets": len(subset),
            "technique_hit_rate": rate("technique_hit", subset),
            "tactic_hit_rate": rate("tactic_hit", subset),
            "incidents_per_dataset_median": statistics.median([r["incidents"] for r in subset]) if subset else None,
            "techniques_per_incident_median": statistics.median(per_incident) if per_incident else None,
            "datasets_with_techniques_outside_label": sum(1 for r in subset if r["techniques_outside_label"]),
        }
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "rampart"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "correlate-coverage.json"))
    args = parser.parse_args()
    rules = os.path.join(SHARED, "sigma-rules", "sigmahq_rules_all.tar.gz")
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as cfg:
        cfg.write(f'[detect]\nbundled_sigma_rules = false\nsigma_rules = ["{rules}"]\n')
        config = cfg.name
    rows = []
    todo = datasets()[: args.limit or None]
    for n, dataset in enumerate(todo, 1):
        try:
            row = evaluate(args.binary, config, dataset)
        except RuntimeError as error:
            row = {"id": dataset["id"], "corpus": dataset["corpus"], "error": str(error),
                   "technique_hit": False, "tactic_hit": False, "incidents": 0,
                   "techniques_per_incident": [], "techniques_outside_label": []}
        rows.append(row)
        print(f"[{n}/{len(todo)}] {dataset['id']}: technique {'HIT' if row['technique_hit'] else 'miss'}, "
              f"tactic {'HIT' if row['tactic_hit'] else 'miss'}, {row.get('alerts', 0)} alerts, "
              f"{row['incidents']} incidents", file=sys.stderr)
    os.unlink(config)
    result = {
        "what": "ATT&CK coverage of rampart run (Sigma with every loadable SigmaHQ rule, correlation) on labelled attack datasets",
        "reproduce": "cargo build --release && python3 bench/correlate/coverage.py",
        "max_techniques_per_hit_incident": MAX_TECHNIQUES,
        "summary": summarise(rows),
        "datasets": rows,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
