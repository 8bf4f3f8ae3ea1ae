#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Plots a `vigil eval --json` report: precision-recall curves (IoU 0.5, 101-point interpolated, one line per
label) and latency histograms per stage, as PNG files and one self-contained HTML page.

Usage: scripts/plot-eval.py REPORT.json [REPORT2.json ...] [-o OUT_DIR]
Several reports are overlaid (for example inference-interval 1 against 3); OUT_DIR defaults to the first
report's name without .json. Needs Debian's python3-matplotlib (scripts/setup.sh installs it)."""
import argparse
import base64
import html
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def name_of(path, report):
    tag = "%s, interval %s%s" % (report.get("model", "?"), report.get("inference_interval", "?"),
                                 ", tracked" if report.get("tracking_enabled") else "")
    return "%s (%s)" % (os.path.basename(path), tag)


def pr_plot(reports, out):
    fig, ax = plt.subplots(figsize=(6, 5))
    for path, r in reports:
        for label, m in r["labels"].items():
            curve = m["pr_curve"]
            pts = [(x, y) for x, y in zip(curve["recall"], curve["precision"]) if y is not None]
            if not pts:
                continue
            ap = m.get("ap50")
            ax.plot([p[0] for p in pts], [p[1] for p in pts],
                    label="%s %s AP50=%s" % (label, name_of(path, r), "%.3f" % ap if ap is not None else "n/a"))
    ax.set_xlabel("recall")
    ax.set_ylabel("precision (interpolated)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.set_title("Precision-recall at IoU 0.5")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def latency_plot(reports, out):
    stages = []
    for _, r in reports:
        for s, v in r["latency_ms"].items():
            if v and s not in stages:
                stages.append(s)
    fig, axes = plt.subplots(len(stages), 1, figsize=(7, 1.9 * len(stages)), squeeze=False)
    for ax, s in zip(axes[:, 0], stages):
        for path, r in reports:
            v = r["latency_ms"].get(s)
            if not v:
                continue
            h = v["histogram"]
            e, c = h["edges"], h["counts"]
            ax.stairs(c, e, fill=True, alpha=0.45,
                      label="%s p50 %.2f p99 %.2f" % (name_of(path, r), v["p50"], v["p99"]))
        ax.set_title(s, fontsize=9)
        ax.set_xlabel("ms", fontsize=8)
        ax.set_ylabel("frames", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def summary_rows(reports):
    rows = []
    for path, r in reports:
        for label, m in r["labels"].items():
            t = m.get("tracking") or {}
            cells = [name_of(path, r), label] + [
                "" if m.get(k) is None else "%.3f" % m[k] for k in ("ap50", "ap", "precision", "recall")
            ] + ["" if t.get(k) is None else ("%.3f" % t[k] if isinstance(t[k], float) else str(t[k]))
                 for k in ("mota", "idf1", "id_switches")]
            rows.append(cells)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+")
    ap.add_argument("-o", "--out", help="output directory")
    a = ap.parse_args()
    reports = []
    for p in a.reports:
        try:
            with open(p) as f:
                r = json.load(f)
            r["labels"], r["latency_ms"]  # the keys this script needs
        except (OSError, ValueError, KeyError, TypeError) as e:
            print("plot-eval: %s is not a vigil eval --json report: %s" % (p, e), file=sys.stderr)
            return 1
        reports.append((p, r))
    out = a.out or os.path.splitext(a.reports[0])[0]
    os.makedirs(out, exist_ok=True)
    pr_png, lat_png = os.path.join(out, "pr_curve.png"), os.path.join(out, "latency.png")
    pr_plot(reports, pr_png)
    latency_plot(reports, lat_png)

    def img(p):
        with open(p, "rb") as f:
            return '<img src="data:image/png;base64,%s">' % base64.b64encode(f.read()).decode()

    head = ["report", "label", "AP50", "AP", "precision", "recall", "MOTA", "IDF1", "ID switches"]
    table = "<table border=1 cellpadding=4><tr>%s</tr>%s</table>" % (
        "".join("<th>%s</th>" % h for h in head),
        "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(c) for c in row)
                for row in summary_rows(reports)))
    page = ("<!doctype html><html><head><meta charset=utf-8><title>vigil eval</title></head><body>"
            "<h1>vigil eval</h1>%s<h2>Precision-recall</h2>%s<h2>Latency</h2>%s</body></html>" %
            (table, img(pr_png), img(lat_png)))
    html_path = os.path.join(out, "report.html")
    with open(html_path, "w") as f:
        f.write(page)
    print("\n".join((pr_png, lat_png, html_path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
