#!/usr/bin/env python3
"""Writes N Suricata EVE alerts as NDJSON by replaying the real alerts of
suricata-eve-alerts/*/alerts-only.json round after round.

Round r shifts every timestamp (and flow.start) by r seconds and adds r to every flow_id, so
no two records are byte-identical (each is a distinct event for the store) while the time
range stays that of the originals plus a few hours at most. Timestamps keep their
original form (`-0600` offsets, or none). Usage:

    gen_eve.py DATA_DIR RECORDS OUT
"""
import datetime
import json
import pathlib
import sys

AWARE = "%Y-%m-%dT%H:%M:%S.%f%z"
NAIVE = "%Y-%m-%dT%H:%M:%S.%f"


def parse(text):
    """Returns (UTC-comparable datetime, format to write it back with)."""
    try:
        return datetime.datetime.strptime(text, AWARE), AWARE
    except ValueError:
        naive = datetime.datetime.strptime(text, NAIVE)
        return naive.replace(tzinfo=datetime.timezone.utc), NAIVE


def template(alert):
    """The alert as compact JSON with `{ts}`, `{flow}` and `{start}` holes for str.format."""
    alert = dict(alert)
    alert["timestamp"] = "@@TS@@"
    alert["flow_id"] = "@@FLOW@@"
    if isinstance(alert.get("flow"), dict) and "start" in alert["flow"]:
        alert["flow"] = dict(alert["flow"], start="@@START@@")
    text = json.dumps(alert, separators=(",", ":"))
    text = text.replace("{", "{{").replace("}", "}}")
    return text.replace('"@@TS@@"', '"{ts}"').replace('"@@FLOW@@"', "{flow}").replace('"@@START@@"', '"{start}"')


def main():
    data, records, out = pathlib.Path(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3])
    alerts = []
    for path in sorted(data.glob("suricata-eve-alerts/*/alerts-only.json")):
        alerts.extend(json.loads(path.read_text()))
    if not alerts:
        sys.exit(f"no alerts under {data}/suricata-eve-alerts")
    rows = []
    for alert in alerts:
        time, time_format = parse(alert["timestamp"])
        start_text = (alert.get("flow") or {}).get("start") if isinstance(alert.get("flow"), dict) else None
        start, start_format = parse(start_text) if start_text else (time, time_format)
        rows.append((template(alert), time, time_format, start, start_format, int(alert.get("flow_id") or 0)))

    written = 0
    round_ = 0
    with out.open("w") as sink:
        while written < records:
            shift = datetime.timedelta(seconds=round_)
            for text, time, time_format, start, start_format, flow_id in rows:
                if written == records:
                    break
                line = text.format(
                    ts=(time + shift).strftime(time_format),
                    flow=flow_id + round_,
                    start=(start + shift).strftime(start_format),
                )
                sink.write(line + "\n")
                written += 1
            round_ += 1
    print(f"wrote {written} records from {len(alerts)} alerts to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
