"""PNG plots of an overhead report, drawn from the JSON document alone (so they can be redrawn later)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from obsconf.overhead.report import PLOT_CPU, PLOT_LATENCY

COLORS = {"A": "#d62728", "B": "#1f77b4", "bare": "#7f7f7f", "stock": "#ff7f0e", "burn": "#9467bd"}


def latency_histogram(samples_us: dict[str, list[float]], bins: int = 60) -> dict[str, list[float]]:
    """Log-spaced histogram of latencies per variant, shared edges: the report's ``latency_histogram``."""
    values = [v for vs in samples_us.values() for v in vs if v > 0]
    if not values:
        return {}
    lo, hi = max(min(values), 1.0), max(values)
    edges = np.logspace(np.log10(lo), np.log10(hi * 1.0001 if hi > lo else lo * 10), bins + 1)
    out: dict[str, list[float]] = {"edges_us": [float(e) for e in edges]}
    for variant, vs in samples_us.items():
        counts, _ = np.histogram(np.asarray(vs, dtype=float), bins=edges)
        out[variant] = [int(c) for c in counts]
    return out


def write_plots(doc: dict[str, Any], out_dir: Path) -> list[Path]:
    """Draw the latency distributions (A vs B) and CPU per request by round; return the files written."""
    import matplotlib

    matplotlib.use("Agg")  # no display here or in CI
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    hist = doc.get("latency_histogram") or {}
    if hist.get("edges_us"):
        written.append(_save(plt, _latency_figure(plt, doc["variants"], hist), out_dir / PLOT_LATENCY))
    if doc["rounds"]:
        written.append(_save(plt, _cpu_figure(plt, doc), out_dir / PLOT_CPU))
    return written


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _latency_figure(plt: Any, labels: dict[str, str], hist: dict[str, Any]) -> Any:
    """The latency distribution of each variant, and its tail (1 - CDF), both on log axes."""
    edges = np.asarray(hist["edges_us"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for variant in [v for v in COLORS if v in labels and hist.get(v)]:
        counts = np.asarray(hist.get(variant, []), dtype=float)
        if counts.sum() == 0:
            continue
        share = counts / counts.sum()
        ax1.stairs(share, edges, color=COLORS[variant], label=f"{variant}: {labels[variant][:48]}")
        cdf = np.cumsum(share)
        ax2.step(edges[1:], 1 - cdf + 1e-9, where="post", color=COLORS[variant], label=variant)
    ax1.set_xscale("log")
    ax1.set_xlabel("latency from due time (us, log)")
    ax1.set_ylabel("share of requests")
    ax1.set_title("Latency distribution, all measured rounds")
    ax1.legend(fontsize=7)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_ylim(1e-4, 1.1)
    ax2.set_xlabel("latency (us, log)")
    ax2.set_ylabel("share slower than x (tail)")
    ax2.set_title("Tail (1 - CDF)")
    ax2.legend(fontsize=7)
    return fig


def _cpu_figure(plt: Any, doc: dict[str, Any]) -> Any:
    """CPU per request of each variant, block by block, with the A - B interval in the title."""
    labels = doc["variants"]
    fig, ax = plt.subplots(figsize=(8, 4))
    for variant in [v for v in COLORS if v in labels]:
        rounds = [r for r in doc["rounds"] if r["variant"] == variant]
        ax.plot([r["pair"] for r in rounds], [r["cpu_us_per_request"] for r in rounds], "o-", color=COLORS[variant],
                label=f"{variant}: {labels[variant][:48]}")
    cpu = doc["comparison"].get("cpu_us_per_request")
    title = "CPU time per request of each variant, by block"
    if cpu:
        title += f"\nA - B median {cpu['diff_median']:+.1f} us, 95% CI [{cpu['diff_ci_low']:+.1f}, " \
                 f"{cpu['diff_ci_high']:+.1f}] us"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("block")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("CPU us per request")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
