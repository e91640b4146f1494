"""Train the actor-critic planner with PPO-clip on batches of generated scenarios.

CleanRL-style: every hyper-parameter in ``Args``, one seeding block, the loop
written out. ``edgeopt train --help`` lists the flags. Each instance is rolled
out ``rollouts`` times; with ``baseline='pomo'`` (default) an episode's
advantage is its return minus the mean return of its instance's rollouts
(POMO's shared baseline: no critic bias, and instance difficulty cancels out);
``baseline='critic'`` uses GAE on the critic instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.data import display_path
from edgeopt.errors import InputError
from edgeopt.jsonio import write_json_atomic

__all__ = ["Args", "main", "train", "validate", "plot_curve"]


@dataclass
class Args:
    name: str = "default"
    """checkpoint name: weights and config go to ``<out_dir>/<name>/``"""
    out_dir: str = "checkpoints"
    """folder of checkpoints (the shipped default is ``edgeopt/data/drl/default``)"""
    curve: str = "reports/drl/learning_curve.png"
    """learning-curve plot to write ('' for none)"""
    seed: int = 1
    """seed of numpy, Keras and the training instances"""
    catalog: str = ""
    """catalog file (default: the shipped measured catalog)"""
    devices: str = ""
    """devices file (default: the shipped device profiles)"""
    num_updates: int = 300
    """PPO iterations; each draws ``num_envs`` fresh training instances"""
    num_envs: int = 16
    """fresh instances per iteration"""
    rollouts: int = 8
    """sampled rollouts of each instance per iteration (the POMO group)"""
    baseline: str = "pomo"
    """advantage: 'pomo' (return minus the group's mean return) or 'critic' (GAE)"""
    order: str = "regret"
    """how the env picks the next item: 'regret' or 'fixed'"""
    min_controllers: int = 4
    """smallest training instance: controllers"""
    max_controllers: int = 8
    """largest training instance: controllers"""
    min_requests_per_controller: float = 3.0
    """fewest requests per controller"""
    max_requests_per_controller: float = 5.0
    """most requests per controller"""
    hidden: int = 64
    """width of every hidden layer"""
    learning_rate: float = 1e-3
    """Adam learning rate (annealed linearly to 10%% when ``anneal_lr``)"""
    anneal_lr: bool = True
    """anneal the learning rate"""
    gamma: float = 1.0
    """discount (1: the return is exactly −Z / scale)"""
    gae_lambda: float = 0.95
    """GAE λ"""
    update_epochs: int = 3
    """PPO epochs per iteration"""
    num_minibatches: int = 4
    """minibatches per epoch"""
    clip_coef: float = 0.2
    """PPO clip range"""
    ent_coef: float = 0.003
    """entropy bonus"""
    vf_coef: float = 0.5
    """value-loss weight"""
    max_grad_norm: float = 0.5
    """global gradient-norm clip"""
    val_instances: int = 24
    """validation instances (fixed seeds, MILP optima cached in the checkpoint folder)"""
    val_every: int = 10
    """validate (and keep the best checkpoint) every this many iterations"""
    milp_time_limit: float = 60.0
    """MILP time limit per validation instance, seconds"""
    progress: bool = True
    """show a tqdm progress bar"""


def parse_args(argv: Sequence[str] | None, prog: str) -> Args:
    """Flags from the fields of :class:`Args` (``--num-envs 32``, ``--no-anneal-lr``)."""
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    docs = _field_docs()
    for f in dataclasses.fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            ap.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=f.default,
                help=docs.get(f.name),
            )
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            ap.add_argument(flag, type=kind, default=f.default, help=docs.get(f.name))
    return Args(**vars(ap.parse_args(argv)))


def _field_docs() -> dict[str, str]:
    """The doc line under each field of Args (read from the source, as CleanRL's tyro does)."""
    import inspect

    lines = inspect.getsource(Args).splitlines()
    out = {}
    for k, line in enumerate(lines[:-1]):
        s = line.strip()
        if ":" in s and not s.startswith('"') and lines[k + 1].strip().startswith('"""'):
            out[s.split(":")[0]] = lines[k + 1].strip().strip('"')
    return out


def validate(
    agent: Any, problems: list[Any], optima: dict[str, dict[str, Any]]
) -> dict[str, float]:
    """Greedy decoding on ``problems``: mean gap to proven optima, stuck share."""
    from edgeopt.core.evaluate import evaluate
    from edgeopt.rl.agent import rollout

    batch = rollout(agent, problems)
    gaps = []
    for b, p in enumerate(problems):
        opt = optima.get(p.name, {})
        if batch.stuck[b] or opt.get("status") != "optimal":
            continue
        z = evaluate(p, batch.assignment(b)).objective
        gaps.append((z - opt["objective"]) / max(abs(opt["objective"]), 1e-9))
    return {
        "gap_mean": float(np.mean(gaps)) if gaps else float("nan"),
        "gap_max": float(np.max(gaps)) if gaps else float("nan"),
        "stuck": float(batch.stuck.mean()),
    }


def plot_curve(
    history: list[dict[str, Any]], path: str | Path, *, greedy_gap: float | None = None
) -> None:
    """Validation gap and training return against iterations, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgeopt.jsonio import write_text_atomic

    val = [h for h in history if "val_gap" in h]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.plot([h["update"] for h in history], [h["return"] for h in history], lw=0.8)
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("mean training return (−Z / scale)")
    ax2.plot(
        [h["update"] for h in val],
        [100 * h["val_gap"] for h in val],
        marker="o",
        ms=3,
        label="drl greedy",
    )
    if greedy_gap is not None:
        ax2.axhline(100 * greedy_gap, color="grey", ls="--", label="greedy heuristic")
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("validation mean gap to MILP optimum (%)")
    ax2.legend()
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_text_atomic(path, buf.getvalue())


def check_args(args: Args) -> None:
    """Every number finite and in range, the checkpoint name a plain name inside ``out_dir``, and no
    output on an input: one-line ``InputError`` naming the flag, before TensorFlow is even imported."""
    from edgeopt.argcheck import SEED, TIME_LIMIT_S, Range, check_options
    from edgeopt.paths import check_output, plain_name
    from edgeopt.rl.agent import MAX_HIDDEN

    def count(hi: float) -> Range:
        return Range(1, hi, integer=True)

    unit = Range(0, 1)
    check_options(
        args,
        seed=SEED,
        num_updates=count(10**7),
        num_envs=count(10**5),
        rollouts=count(10**4),
        min_controllers=count(10**4),
        max_controllers=count(10**4),
        min_requests_per_controller=Range(0, 10**4, lo_open=True),
        max_requests_per_controller=Range(0, 10**4, lo_open=True),
        hidden=count(MAX_HIDDEN),
        learning_rate=Range(0, 1, lo_open=True),
        gamma=unit,
        gae_lambda=unit,
        update_epochs=count(10**4),
        num_minibatches=count(10**6),
        clip_coef=Range(0, 100),
        ent_coef=Range(0, 100),
        vf_coef=Range(0, 100),
        max_grad_norm=Range(0, 10**6, lo_open=True),
        val_instances=Range(0, 10**5, integer=True),
        val_every=count(10**7),
        milp_time_limit=TIME_LIMIT_S,
    )
    if args.max_controllers < args.min_controllers:
        raise InputError(
            f"--max-controllers: must be >= --min-controllers ({args.min_controllers}), "
            f"got {args.max_controllers}"
        )
    if args.max_requests_per_controller < args.min_requests_per_controller:
        raise InputError(
            "--max-requests-per-controller: must be >= --min-requests-per-controller "
            f"({args.min_requests_per_controller}), got {args.max_requests_per_controller}"
        )
    plain_name(args.name, option="--name")
    inputs = [args.catalog or None, args.devices or None]
    check_output(
        Path(args.out_dir) / args.name, option="--out-dir/--name", inputs=inputs, folder=True
    )
    if args.curve:
        check_output(args.curve, option="--curve", inputs=inputs)


def train(args: Args, *, command: str = "") -> dict[str, Any]:
    """Run training; returns the summary written into the checkpoint's config."""
    check_args(args)
    from edgeopt.rl.agent import quiet_tensorflow

    quiet_tensorflow()
    import keras
    import tensorflow as tf
    from tqdm import tqdm

    from edgeopt.rl.agent import Agent, AgentConfig
    from edgeopt.rl.data import VALIDATION_SEED, Distribution, Sources, milp_optima
    from edgeopt.rl.env import PlanBatch

    if min(args.num_envs, args.num_updates, args.num_minibatches, args.rollouts) < 1:
        raise InputError(
            "num-envs, num-updates, num-minibatches and rollouts must be >= 1", field="args"
        )
    if args.baseline not in ("pomo", "critic"):
        raise InputError("must be 'pomo' or 'critic'", field="baseline")
    from edgeopt.rl.env import ITEM_RULES

    if args.order not in ITEM_RULES:
        raise InputError(f"must be one of {list(ITEM_RULES)}", field="order")
    started = time.perf_counter()
    out = Path(args.out_dir) / args.name

    # Seeding: numpy generator for instances and actions, Keras/TF for weights.
    rng = np.random.default_rng(args.seed)
    keras.utils.set_random_seed(args.seed)

    sources = Sources.resolve(args.catalog or None, args.devices or None)
    dist = Distribution(
        controllers=(args.min_controllers, args.max_controllers),
        requests_per_controller=(
            args.min_requests_per_controller,
            args.max_requests_per_controller,
        ),
    )
    val_problems = dist.problems(
        sources, range(VALIDATION_SEED, VALIDATION_SEED + args.val_instances)
    )
    optima = (
        milp_optima(
            val_problems,
            out / "val_optima.json",
            time_limit_s=args.milp_time_limit,
            progress=args.progress,
        )
        if val_problems
        else {}
    )
    greedy_gap = _greedy_gap(val_problems, optima)

    agent = Agent(AgentConfig(hidden=args.hidden, order=args.order), seed=args.seed)
    model = agent.model
    optimizer = keras.optimizers.Adam(
        learning_rate=args.learning_rate, global_clipnorm=args.max_grad_norm
    )
    optimizer.build(model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def train_step(
        cand: Any, mask: Any, state: Any, act: Any, old_lp: Any, adv: Any, ret: Any, choice: Any
    ) -> Any:
        with tf.GradientTape() as tape:
            logits, value = model([cand, mask, state], training=True)
            logp_all = tf.nn.log_softmax(logits, axis=-1)
            lp = tf.gather(logp_all, act, batch_dims=1)
            ratio = tf.exp(lp - old_lp)
            pg = tf.maximum(
                -adv * ratio, -adv * tf.clip_by_value(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
            )
            n_choice = tf.maximum(tf.reduce_sum(choice), 1.0)
            pg_loss = tf.reduce_sum(pg * choice) / n_choice
            ent = -tf.reduce_sum(tf.where(mask, tf.exp(logp_all) * logp_all, 0.0), axis=-1)
            ent_loss = tf.reduce_sum(ent * choice) / n_choice
            v_loss = 0.5 * tf.reduce_mean(tf.square(value - ret))
            loss = pg_loss - args.ent_coef * ent_loss + args.vf_coef * v_loss
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        kl = tf.reduce_sum(((ratio - 1.0) - (lp - old_lp)) * choice) / n_choice
        return pg_loss, v_loss, ent_loss, kl

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"score": np.inf}
    global_step = 0
    bar = tqdm(
        range(1, args.num_updates + 1),
        desc="train",
        unit="it",
        disable=not args.progress,
        file=sys.stderr,
    )
    for update in bar:
        if args.anneal_lr:
            frac = 1.0 - (update - 1.0) / args.num_updates
            optimizer.learning_rate.assign(args.learning_rate * (0.1 + 0.9 * frac))

        # ---- collect: fresh instances, one episode each
        seeds = args.seed * 1_000_000 + (update - 1) * args.num_envs + np.arange(args.num_envs)
        problems = [p for p in dist.problems(sources, seeds.tolist()) for _ in range(args.rollouts)]
        batch = PlanBatch(problems, order=args.order)
        steps: list[dict[str, np.ndarray]] = []
        ret_z = np.zeros(batch.B)
        while not batch.done.all():
            obs = batch.observe()
            active = ~batch.done
            action, logp, value = agent.get_action_and_value(obs, rng)
            reward, _ = batch.step(action)
            ret_z += reward
            steps.append(
                {
                    **{k: obs[k] for k in ("candidates", "mask", "state")},
                    "action": action,
                    "logp": logp,
                    "value": value,
                    "reward": reward / batch.scale,
                    "active": active,
                }
            )
        global_step += int(sum(s["active"].sum() for s in steps))

        # ---- advantages: GAE over each episode (value 0 after the end)
        T = len(steps)
        adv = np.zeros((T, batch.B))
        last = np.zeros(batch.B)
        for t in reversed(range(T)):
            nxt_active = steps[t + 1]["active"] if t + 1 < T else np.zeros(batch.B, dtype=bool)
            nxt_value = steps[t + 1]["value"] if t + 1 < T else np.zeros(batch.B)
            delta = steps[t]["reward"] + args.gamma * nxt_value * nxt_active - steps[t]["value"]
            last = delta + args.gamma * args.gae_lambda * nxt_active * last
            adv[t] = last
        act_mask = np.stack([s["active"] for s in steps])
        flat = {
            k: np.concatenate([s[k][s["active"]] for s in steps])
            for k in ("candidates", "mask", "state", "action", "logp", "value")
        }
        flat_ret = adv[act_mask] + flat["value"]  # the critic's targets (trained either way)
        if args.baseline == "pomo":
            # Same instance ⇒ same group; every step of an episode shares its episode advantage.
            g = ret_z / batch.scale
            group = g.reshape(-1, args.rollouts)
            ep_adv = (group - group.mean(axis=1, keepdims=True)).ravel()
            adv = np.broadcast_to(ep_adv, adv.shape)
        flat_adv = adv[act_mask]
        choice = (flat["mask"].sum(axis=1) >= 2).astype(np.float32)

        # ---- PPO update
        n = flat_adv.shape[0]
        mb = max(1, n // args.num_minibatches)
        stats = []
        for _epoch in range(args.update_epochs):
            perm = rng.permutation(n)
            for start in range(0, n, mb):
                idx = perm[start : start + mb]
                a_mb = flat_adv[idx]
                c_mb = choice[idx]
                sel = c_mb > 0
                if sel.sum() > 1:
                    a_mb = (a_mb - a_mb[sel].mean()) / (a_mb[sel].std() + 1e-8)
                stats.append(
                    train_step(
                        flat["candidates"][idx],
                        flat["mask"][idx],
                        flat["state"][idx],
                        flat["action"][idx],
                        flat["logp"][idx].astype(np.float32),
                        a_mb.astype(np.float32),
                        flat_ret[idx].astype(np.float32),
                        c_mb,
                    )
                )
        pg_l, v_l, ent, kl = (float(np.mean([float(s[k]) for s in stats])) for k in range(4))
        rec = {
            "update": update,
            "step": global_step,
            "return": float(np.mean(ret_z / batch.scale)),
            "stuck": float(batch.stuck.mean()),
            "pg_loss": pg_l,
            "v_loss": v_l,
            "entropy": ent,
            "kl": kl,
        }

        # ---- validate, keep the best checkpoint, redraw the curve
        if val_problems and (update % args.val_every == 0 or update == args.num_updates):
            v = validate(agent, val_problems, optima)
            rec.update(val_gap=v["gap_mean"], val_gap_max=v["gap_max"], val_stuck=v["stuck"])
            score = v["stuck"] + (v["gap_mean"] if np.isfinite(v["gap_mean"]) else 1.0)
            if score < best["score"]:
                best = {"score": score, "update": update, **v}
                _save(
                    agent,
                    out,
                    args,
                    sources,
                    dist,
                    best,
                    history + [rec],
                    started,
                    command,
                    greedy_gap,
                )
            if args.curve:
                plot_curve(history + [rec], args.curve, greedy_gap=greedy_gap)
        history.append(rec)
        bar.set_postfix(
            ret=f"{rec['return']:.2f}",
            gap=f"{100 * best.get('gap_mean', np.nan):.2f}%",
            stuck=f"{rec['stuck']:.2f}",
        )
    bar.close()
    if not val_problems:  # nothing to select on: keep the last weights
        best = {"update": args.num_updates}
        _save(agent, out, args, sources, dist, best, history, started, command, greedy_gap)
    summary = _save(None, out, args, sources, dist, best, history, started, command, greedy_gap)
    return summary


def _greedy_gap(problems: list[Any], optima: dict[str, dict[str, Any]]) -> float | None:
    from edgeopt.solvers.registry import get_solver

    gaps = []
    for p in problems:
        opt = optima.get(p.name, {})
        r = get_solver("greedy")(p)
        if opt.get("status") == "optimal" and r.objective is not None:
            gaps.append((r.objective - opt["objective"]) / max(abs(opt["objective"]), 1e-9))
    return float(np.mean(gaps)) if gaps else None


def _save(
    agent: Any,
    out: Path,
    args: Args,
    sources: Any,
    dist: Any,
    best: dict[str, Any],
    history: list[dict[str, Any]],
    started: float,
    command: str,
    greedy_gap: float | None,
) -> dict[str, Any]:
    """Weights (when ``agent`` is given) and the JSON config with provenance and results."""
    from edgeopt.rl.agent import CHECKPOINT_FORMAT, CONFIG_FILE, save_checkpoint

    summary = {
        "command": command,
        "args": dataclasses.asdict(args)
        | {
            "out_dir": display_path(args.out_dir),
            "curve": display_path(args.curve) if args.curve else "",
        },
        "sources": sources.describe(),
        "distribution": dist.describe(),
        "best": {k: v for k, v in best.items() if k != "score"},
        "validation_greedy_heuristic_gap": greedy_gap,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    if agent is not None:
        save_checkpoint(agent, out, extra={"training": summary})
    else:
        import json

        cfg = json.loads((out / CONFIG_FILE).read_text())
        assert cfg["format"] == CHECKPOINT_FORMAT
        cfg["training"] = summary
        write_json_atomic(out / CONFIG_FILE, cfg)
    write_json_atomic(out / "history.json", {"format": "edgeopt-drl-history/1", "history": history})
    return summary


def main(argv: Sequence[str] | None = None, prog: str = "edgeopt train") -> int:
    """Entry point of ``edgeopt train``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv, prog)
    summary = train(args, command=" ".join([prog, *argv]))
    b = summary["best"]
    print(
        f"checkpoint {Path(args.out_dir) / args.name}: best at iteration {b.get('update')}, "
        f"validation gap {100 * b.get('gap_mean', float('nan')):.2f}% (stuck {b.get('stuck', 0):.0%}), "
        f"{summary['wall_s']:.0f} s"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
