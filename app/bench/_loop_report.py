"""What `mopeft bench loop` writes: the markdown tables and a plot per dataset (matplotlib, no Qt, no pyplot)."""
from __future__ import annotations

from pathlib import Path

from app.bench._adapt_report import config_name

GOAL_RATIO = 0.5
"""Issue 21's goal: (d) needs at most this share of (a)'s actions per instance by the last round."""


def _pm(stat: dict, digits: int = 2) -> str:
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _rho(value: float | None) -> str:
    return "—" if value is None else f"{value:+.3f}"


def _accepted(report: dict) -> str:
    return "the proposal's mask" if report["accepted_masks"] == "proposal" else "their ground-truth mask"


def _label(entry: dict) -> tuple[str, str]:
    return f"({entry['strategy']}) {entry['label']}", config_name(entry["config"]) if entry["config"] else "—"


def goal_ratios(result: dict) -> dict[str, float]:
    """Per configuration: (d)'s held-out actions per instance after the last round over (a)'s."""
    entries = result["strategies"]
    if "a" not in entries:
        return {}
    clicks = entries["a"]["held_out"][-1]["mean"]
    return {e["config"]: e["held_out"][-1]["mean"] / clicks for e in entries.values()
            if e["strategy"] == "d" and clicks > 0}


def markdown(report: dict) -> str:
    """The held-out table (actions per instance before the first round and after each), the per-round table
    (the rounds' own images, all of them together, the fine-tunes' time), the goal, and the uncertainty scores'
    correlations."""
    rounds, auto = report["rounds"], report["proposals"]
    lines = [f"`{report['model']}` on {report['device']}, {report['rounds']} rounds of {report['images_per_round']} "
             f"images, {report['holdout']} held-out images, {report['seeds']} seed(s), fine-tunes of "
             f"{report['steps']} steps on blocks {report['blocks']} (fresh adapter each round, on every instance "
             f"labelled so far; accepted proposals train with {_accepted(report)}), proposals of a "
             f"{auto['points_per_side']}² grid kept above predicted IoU {auto['pred_iou_thresh']:g} and stability "
             f"{auto['stability_score_thresh']:g}, (d) ranks by `{report['uncertainty']}`; "
             f"actions per instance (clicks until IoU >= 0.85 or {report['max_clicks']}, one per proposal accepted "
             "or rejected), mean ± std over seeds.", "",
             "Held-out images, labelled with the model of that round (round 0: the base model):", "",
             "| dataset | strategy | configuration | " + " | ".join(f"round {n}" for n in range(rounds + 1)) + " |",
             "|---|---|---|" + "---|" * (rounds + 1)]
    for name, result in report["datasets"].items():
        for entry in result["strategies"].values():
            lines.append(f"| {name} | {' | '.join(_label(entry))} | "
                         + " | ".join(_pm(s) for s in entry["held_out"]) + " |")
    lines += ["", "Each round's own images (labelled with the model of the round before), all rounds' images "
              "together, and the fine-tunes' wall time (s, mean per round):", "",
              "| dataset | strategy | configuration | " + " | ".join(f"round {n}" for n in range(1, rounds + 1))
              + " | all rounds | fine-tune (s) |", "|---|---|---|" + "---|" * (rounds + 2)]
    for name, result in report["datasets"].items():
        for entry in result["strategies"].values():
            tune = [s["mean"] for s in entry["finetune_seconds"]]
            lines.append(f"| {name} | {' | '.join(_label(entry))} | " + " | ".join(_pm(s) for s in entry["labelled"])
                         + f" | {_pm(entry['all_rounds'])} | {sum(tune) / len(tune):.1f} |")
    lines += ["", "Goal: (d) needs at most half of (a)'s actions per instance on the held-out images after the last "
              "round.", ""]
    for name, result in report["datasets"].items():
        for config, ratio in goal_ratios(result).items():
            lines.append(f"- {name}, {config_name(config)}: (d) / (a) = {ratio:.2f} "
                         f"({'met' if ratio <= GOAL_RATIO else 'not met'})")
    lines += ["", "Uncertainty scores against the actions per instance each image needed, and against its clicks per "
              "instance alone (leaving out the review), over every image labelled with proposals (held-out and "
              "rounds, all seeds): Spearman's rank correlation (higher: the score ranks the costly images first):",
              "", "| dataset | score | ρ with actions | ρ with clicks | images |", "|---|---|---|---|---|"]
    for name, result in report["datasets"].items():
        for score, stat in result["uncertainty"].items():
            lines.append(f"| {name} | `{score}` | {_rho(stat['spearman'])} | {_rho(stat['spearman_clicks'])} | "
                         f"{stat['images']} |")
    return "\n".join(lines) + "\n"


def plot_png(name: str, result: dict, images_per_round: int, path: Path) -> Path:
    """Held-out actions per instance against the round, one line per strategy (and configuration), ± std."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    axes = figure.subplots()
    entries = list(result["strategies"].values())
    for k, entry in enumerate(entries):
        means = [s["mean"] for s in entry["held_out"]]
        strategy, config = _label(entry)
        shift = 0.04 * (k - (len(entries) - 1) / 2)   # lines that coincide stay visible side by side
        axes.errorbar([n + shift for n in range(len(means))], means, yerr=[s["std"] for s in entry["held_out"]],
                      marker="o", capsize=3, label=strategy + ("" if config == "—" else f", {config}"))
    if "a" in result["strategies"]:
        axes.axhline(GOAL_RATIO * result["strategies"]["a"]["held_out"][-1]["mean"], color="grey", linestyle="--",
                     linewidth=1, label="goal for (d): half of (a)")
    axes.set_xticks(range(len(entries[0]["held_out"])))
    axes.set_title(f"{name}: the annotation loop")
    axes.set_xlabel(f"round ({images_per_round} images labelled and a fine-tune each)")
    axes.set_ylabel("actions per instance, held-out images")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, format="png")
    return path
