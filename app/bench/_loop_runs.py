"""The rounds of `mopeft bench loop`: one seed's split of a dataset, each strategy's rounds on it.

A seed shuffles the dataset's images: the first `holdout` are held out, the rest are the pool the rounds label
from, `images_per_round` a round. Before the first round and after every round the held-out images are labelled
with the current model under the strategy's protocol (clicks, or proposals then clicks): the actions they need are
what the next image costs, on the same images for every strategy. A fine-tuning strategy trains a fresh adapter
after every round on every instance labelled so far: the ground-truth mask for a clicked instance, the proposal's
mask for one accepted as proposed (what the app trains on: it stores the proposal's mask unedited), or with
`--accepted-masks truth` its ground truth.

Results of a model on an image, and the fine-tunes on a set of instances, are kept for the seed, so strategies that
would repeat one (the base model's rounds; (c)'s fine-tunes when it accepted no proposal, which are (b)'s) compute
it once.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from segment_anything.modeling import Sam

from app.autoseg.uncertainty import SCORES
from app.bench._adapt_runs import mean_std, train_settings
from app.bench._loop_annotator import ImageActions, label_image
from app.metrics.dataset import EvalImage
from app.sam.embedding_cache import EmbeddingCache
from app.sam.engine import SamEngine
from app.training.finetune.run import adapt, start_model


@dataclass(frozen=True)
class Strategy:
    """How the simulated annotator works: fine-tune after every round, review proposals first, take the next
    images by uncertainty (most uncertain first) rather than in order."""

    name: str
    label: str
    fine_tune: bool
    proposals: bool
    by_uncertainty: bool


STRATEGIES = {s.name: s for s in (
    Strategy("a", "clicks only", False, False, False),
    Strategy("b", "clicks, fine-tune every round", True, False, False),
    Strategy("c", "(b) + proposals reviewed first", True, True, False),
    Strategy("d", "(c) + next images by uncertainty", True, True, True))}
"""The four strategies of issue 21 item 6, by letter."""


def propose(engine: SamEngine, rgb: np.ndarray, params: dict) -> list:
    """The automatic proposals of the engine's model for one image (`params`: AutoParams as a dict), best predicted
    IoU first."""
    from app.autoseg import AutoParams, propose_instances

    return propose_instances(engine, rgb, AutoParams.from_dict(params))


@dataclass
class _Model:
    key: str
    engine: SamEngine


def _engine(sam: Sam) -> SamEngine:
    return SamEngine(sam, cache=EmbeddingCache(disk=False, max_items=1))


def actions_per_instance(results: Sequence[ImageActions]) -> float:
    """Actions over a set of images divided by their instances."""
    return sum(r.actions for r in results) / max(1, sum(r.instances for r in results))


def _totals(results: list[ImageActions]) -> dict:
    return {"actions": sum(r.actions for r in results), "instances": sum(r.instances for r in results),
            "per_instance": actions_per_instance(results), "images": [r.summary() for r in results]}


class SeedRun:
    """One seed on one dataset: its split, and every strategy's rounds on it (`run`)."""

    def __init__(self, base: Sam, dataset: Sequence[EvalImage], seed: int, args, log: Callable[[str], None]):
        order = [int(i) for i in np.random.default_rng(seed).permutation(len(dataset))]
        self.base, self.dataset, self.seed, self.args, self.log = base, dataset, seed, args, log
        self.held_out, self.pool = order[:args.holdout], order[args.holdout:]
        self.results: dict[tuple[str, bool, int], ImageActions] = {}
        self._proposals: dict[tuple[str, int], list] = {}
        self._base = _Model("base", _engine(base))
        self._models: dict[str, tuple[_Model, float]] = {}

    def run(self, strategy: Strategy, config: str | None) -> dict:
        """Every round of `strategy` (fine-tuning `config`): the held-out cost before the first round and after
        each, and per round the images labelled, their cost and the fine-tune's wall time."""
        model, labelled, remaining = self._base, [], list(self.pool)
        held_out, rounds = [self._held_out(model, strategy)], []
        for number in range(1, self.args.rounds + 1):
            pick = self._pick(model, strategy, remaining)
            remaining = [i for i in remaining if i not in pick]
            done = [self._label(model, strategy.proposals, i) for i in pick]
            labelled += [self._example(i, r) for i, r in zip(pick, done)]
            seconds = 0.0
            if strategy.fine_tune:
                model, seconds = self._fine_tune(config, labelled)
            held_out.append(self._held_out(model, strategy))
            rounds.append({**_totals(done), "finetune_seconds": seconds})
            self.log(f"[loop] seed {self.seed} {entry_key(strategy, config)} round {number}: "
                     f"{rounds[-1]['per_instance']:.2f} actions/instance on its images, "
                     f"{held_out[-1]['per_instance']:.2f} on the held-out ones"
                     + (f", fine-tuned in {seconds:.1f} s" if strategy.fine_tune else ""))
        return {"held_out": held_out, "rounds": rounds}

    def _held_out(self, model: _Model, strategy: Strategy) -> dict:
        return _totals([self._label(model, strategy.proposals, i) for i in self.held_out])

    def _pick(self, model: _Model, strategy: Strategy, remaining: list[int]) -> list[int]:
        if not strategy.by_uncertainty:
            return remaining[:self.args.images_per_round]
        score = SCORES[self.args.uncertainty]
        ranked = sorted(remaining, key=lambda i: -score(self._proposed(model, i)))  # stable: pool order on ties
        return ranked[:self.args.images_per_round]

    def _proposed(self, model: _Model, index: int) -> list:
        key = (model.key, index)
        if key not in self._proposals:
            self._proposals[key] = propose(model.engine, self.dataset[index].rgb, self.args.auto_params)
        return self._proposals[key]

    def _label(self, model: _Model, proposals: bool, index: int) -> ImageActions:
        key = (model.key, proposals, index)
        if key in self.results:
            return self.results[key]
        found = self._proposed(model, index) if proposals else []
        if proposals and not found:  # nothing to review: the clicks are those of clicks only
            result = replace(self._label(model, False, index), scores={n: fn([]) for n, fn in SCORES.items()})
        else:
            scores = {name: fn(found) for name, fn in SCORES.items()} if proposals else None
            result = label_image(model.engine, self.dataset[index], found, self.args.max_clicks, scores)
        self.results[key] = result
        return result

    def _example(self, index: int, result: ImageActions) -> EvalImage:
        image = self.dataset[index]
        masks = result.masks if self.args.accepted_masks == "proposal" else image.masks
        return EvalImage(image.name, image.rgb, masks, list(image.instance_ids))

    def _fine_tune(self, config: str, labelled: list[EvalImage]) -> tuple[_Model, float]:
        """The model fine-tuned on `labelled` and its wall time; trained once per seed for the same instances
        (training is repeatable: a strategy that labelled what another did gets the same weights)."""
        digest = hashlib.sha1(config.encode())
        for example in labelled:
            digest.update(example.name.encode())
            for mask in example.masks:
                digest.update(np.packbits(mask).tobytes())
        key = digest.hexdigest()[:16]
        if key not in self._models:
            settings = train_settings(self.args, config, self.seed)
            started = time.perf_counter()
            sam = start_model(self.base, settings, None, [])
            adapt(sam, labelled, settings)
            self._models[key] = (_Model(key, _engine(sam)), time.perf_counter() - started)
        return self._models[key]


def entry_key(strategy: Strategy, config: str | None) -> str:
    """The key of a strategy's results: its letter, with the PEFT configuration for a fine-tuning one ("d/lora")."""
    return strategy.name if config is None else f"{strategy.name}/{config}"


def _seeds_summary(runs: list[dict]) -> dict:
    """Mean ± std over seeds of the held-out cost per round, of each round's own images, of all rounds' images
    together, and of the fine-tunes' wall time."""
    rounds = len(runs[0]["rounds"])
    total = [sum(r["actions"] for r in run["rounds"]) / max(1, sum(r["instances"] for r in run["rounds"]))
             for run in runs]
    return {"held_out": [mean_std([run["held_out"][n]["per_instance"] for run in runs]) for n in range(rounds + 1)],
            "labelled": [mean_std([run["rounds"][n]["per_instance"] for run in runs]) for n in range(rounds)],
            "all_rounds": mean_std(total),
            "finetune_seconds": [mean_std([run["rounds"][n]["finetune_seconds"] for run in runs])
                                 for n in range(rounds)]}


def run_dataset(base: Sam, dataset: Sequence[EvalImage], strategies: list[Strategy], configs: list[str], args,
                log: Callable[[str], None]) -> dict:
    """Every seed, strategy and configuration on one dataset: {"strategies": {entry key: summary and the runs},
    "uncertainty": {score name: Spearman correlation with the actions per instance, and with the clicks per
    instance alone (how hard the image is for the model, leaving out the review), over every image labelled with
    proposals}}."""
    entries: dict[str, dict] = {}
    scored: dict[tuple, ImageActions] = {}
    for seed in range(args.seeds):
        run = SeedRun(base, dataset, seed, args, log)
        for strategy in strategies:
            for config in configs if strategy.fine_tune else [None]:
                entry = entries.setdefault(entry_key(strategy, config), {
                    "strategy": strategy.name, "label": strategy.label, "config": config, "runs": []})
                entry["runs"].append({"seed": seed, **run.run(strategy, config)})
        scored.update({(seed, *key): r for key, r in run.results.items() if r.scores})
    for entry in entries.values():
        entry.update(_seeds_summary(entry["runs"]))
    images = list(scored.values())
    actions = [r.actions / max(1, r.instances) for r in images]
    clicks = [r.clicks / max(1, r.instances) for r in images]
    uncertainty = {name: {"spearman": spearman([r.scores[name] for r in images], actions),
                          "spearman_clicks": spearman([r.scores[name] for r in images], clicks),
                          "images": len(images)} for name in SCORES}
    return {"images": len(dataset), "strategies": entries, "uncertainty": uncertainty}


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (ties share their mean rank); None when either side is constant or has fewer
    than 3 values."""
    if len(x) < 3:
        return None
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values: Sequence[float]) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    for value in np.unique(values):
        ranks[values == value] = ranks[values == value].mean()
    return ranks
