"""Train the learned planner: imitation of proven optima, DAgger, then POMO-style RL fine-tuning.

CleanRL-style: every hyper-parameter in ``Args``, one seeding block, the loops
written out. ``edgeopt train --help`` lists the flags.

1. **Teachers.** ``teacher_instances`` generated scenarios (every ``large_every``-th
   twice as large) are solved by the MILP to proven optimality, once: plans are
   cached with the problems' fingerprints.
2. **Imitation.** The env is walked along each optimal plan; at each decision the
   network is trained by cross-entropy to choose the optimum's column (its class of
   interchangeable columns: any equivalent column is the same choice).
3. **DAgger with exact completions.** The policy decodes the teachers; each plan is cut
   at a random step and the open requests re-solved by the MILP with the policy's first
   choices fixed: the policy's own states, labelled by an exact completion, join the set.
4. **RL fine-tuning, actor-critic.** Fresh instances, each decoded ``rollouts`` times by
   sampling; policy gradient with the advantage ``--baseline`` names: POMO's shared
   baseline (a plan's return minus its group's mean, over the group's spread), the
   critic's (each step's realised cost-to-go against the critic's prediction, over the
   same spread), or the mean of the two. The critic regresses on the realised
   cost-to-go meanwhile.

The critic (the value head, :mod:`edgeopt.policy.network`) learns from phase 2 on:
along the teachers' optimal plans and the DAgger completions its label is the exact
optimal cost-to-go (the MILP's completion cost from that state).

The weights kept are those of the best validation (greedy decoding, mean gap to the
MILP optima of ``val_instances`` fixed instances), over both phases.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeopt.argcheck import SEED, TIME_LIMIT_S, Range, check_options
from edgeopt.core.batch import ITEM_RULES
from edgeopt.core.evaluate import evaluate
from edgeopt.data import artefact_path, display_path
from edgeopt.errors import InputError
from edgeopt.jsonio import printable, write_json_atomic, write_text_atomic
from edgeopt.paths import check_output, plain_name, same_file
from edgeopt.policy.checkpoint import (
    CHECKPOINT_FORMAT,
    CONFIG_FILE,
    MAX_HIDDEN,
    SIZES,
    AgentConfig,
    read_checkpoint,
)
from edgeopt.policy.decode import FirstPass, choose, rollout
from edgeopt.policy.features import PolicyBatch
from edgeopt.policy.network import INPUTS
from edgeopt.rl.agent import Agent, quiet_tensorflow, save_checkpoint
from edgeopt.rl.data import (
    OPTIMA_FORMAT,
    VALIDATION_SEED,
    Distribution,
    Sources,
    milp_optima,
    mixed_problems,
    teacher_problems,
)
from edgeopt.rl.imitation import batches, collect, exact_completions, pad
from edgeopt.solvers.registry import get_solver

__all__ = ["Args", "train", "validate", "plot_curve"]


@dataclass
class Args:
    name: str = "default"
    """checkpoint name: weights and config go to ``<out_dir>/<name>/``"""
    out_dir: str = "checkpoints"
    """folder of checkpoints (the shipped default is ``solvers/drl/default``)"""
    curve: str = "reports/drl/learning_curve.png"
    """learning-curve plot to write ('' for none)"""
    seed: int = 1
    """seed of numpy, Keras and the RL training instances"""
    catalog: str = ""
    """catalog file (default: the shipped measured catalog)"""
    devices: str = ""
    """devices file (default: the shipped device profiles)"""
    teacher_instances: int = 320
    """imitation instances, solved to proven optimality by the MILP once and cached"""
    teacher_cache: str = ""
    """JSON cache of the teachers' optimal plans (default: read the shipped solvers/drl/teacher/optima.json, write new solves to <out_dir>/<name>/optima.json)"""
    large_every: int = 4
    """every this many teacher / RL instances is twice as large (0: none)"""
    epochs: int = 30
    """imitation epochs over the teacher steps"""
    batch_size: int = 64
    """imitation minibatch (decisions)"""
    learning_rate: float = 2e-3
    """imitation Adam learning rate (cosine-annealed to 5%%)"""
    dagger_rounds: int = 3
    """DAgger rounds after imitation: decode the teachers, complete each plan exactly from a random
    step of the policy's own (MILP, the first choices fixed), add those states, train on"""
    dagger_epochs: int = 8
    """imitation epochs after each DAgger round (learning rate a third of the first phase's)"""
    dagger_time_limit: float = 5.0
    """MILP time limit of one exact completion, seconds"""
    rl_updates: int = 20
    """RL fine-tuning iterations after imitation (0: imitation only)"""
    rl_instances: int = 8
    """fresh instances per RL iteration"""
    rollouts: int = 8
    """sampled plans of each instance per RL iteration (the POMO group and its shared baseline)"""
    rl_learning_rate: float = 1e-4
    """RL Adam learning rate"""
    ent_coef: float = 0.0
    """RL entropy bonus"""
    critic_coef: float = 1.0
    """weight of the critic's loss (Huber on the cost-to-go, in cost-scale units)
    beside the actor's; 0 trains no critic (the ablation)"""
    baseline: str = "both"
    """RL baseline: 'pomo' (a plan's return against its group's mean), 'critic' (each step's
    realised cost-to-go against the critic's prediction) or 'both' (the mean of the two
    advantages)"""
    max_grad_norm: float = 1.0
    """global gradient-norm clip"""
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
    init: str = ""
    """start from this checkpoint's weights (its width replaces --hidden) instead of a fresh network"""
    val_instances: int = 48
    """validation instances (fixed seeds, MILP optima cached)"""
    val_cache: str = ""
    """JSON cache of the validation optima (default: read the shipped one, write new solves into the checkpoint folder)"""
    val_every: int = 4
    """validate (and keep the best weights) every this many imitation epochs and 2x this many RL iterations"""
    milp_time_limit: float = 30.0
    """MILP time limit per teacher / validation instance, seconds"""
    progress: bool = True
    """show a tqdm progress bar"""


def validate(
    policy: Any, problems: list[Any], optima: dict[str, dict[str, Any]], order: str = "regret"
) -> dict[str, float]:
    """Greedy decoding on ``problems``: mean / max gap to proven optima, stuck share; with a
    critic, also its mean relative error at the empty plan (predicted cost-to-go against Z*)."""

    batch = rollout(policy, problems, order=order)
    gaps, root = [], []
    start = PolicyBatch(problems, order=order) if hasattr(policy, "cost_to_go") else None
    pred = start.scale * policy.cost_to_go(start.observe()) if start is not None else None
    for b, p in enumerate(problems):
        opt = optima.get(p.name, {})
        if batch.stuck[b] or opt.get("status") != "optimal":
            continue
        z = evaluate(p, batch.assignment(b)).objective
        gaps.append((z - opt["objective"]) / max(abs(opt["objective"]), 1e-9))
        if pred is not None:  # the critic at the empty plan against the optimum
            root.append(abs(pred[b] - opt["objective"]) / max(abs(opt["objective"]), 1e-9))
    out = {
        "gap_mean": float(np.mean(gaps)) if gaps else float("nan"),
        "gap_max": float(np.max(gaps)) if gaps else float("nan"),
        "stuck": float(batch.stuck.mean()),
    }
    if root:
        out["critic_root_error"] = float(np.mean(root))
    return out


def plot_curve(
    history: list[dict[str, Any]],
    path: str | Path,
    *,
    references: dict[str, float | None] | None = None,
) -> None:
    """Validation gap against training progress (imitation epochs, then RL iterations), with the
    heuristics' gaps on the same instances as reference lines; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    il = [h for h in history if h["phase"] != "rl"]
    rl = [h for h in history if h["phase"] == "rl"]
    ax1.plot([h["x"] for h in il], [h["loss"] for h in il], lw=0.9, label="imitation loss")
    ax1.set_xlabel("imitation epoch (then DAgger rounds' epochs)")
    dg = [h for h in history if h["phase"] == "dagger"]
    if dg:
        ax1.axvline(dg[0]["x"] - 0.5, color="grey", lw=0.6)
    ax1.set_ylabel("cross-entropy (nats)")
    ax1b = ax1.twinx()
    ax1b.plot([h["x"] for h in il], [100 * h["accuracy"] for h in il], color="C1", lw=0.9)
    ax1b.set_ylabel("teacher's choice taken (%)", color="C1")
    val = [h for h in history if "val_gap" in h]
    ax2.plot(
        [h["x"] for h in val],
        [100 * h["val_gap"] for h in val],
        marker="o",
        ms=3,
        label="drl greedy",
    )
    for k, (label, v) in enumerate((references or {}).items()):
        if v is not None:
            ax2.axhline(100 * v, color=f"C{k + 2}", ls="--", lw=0.9, label=label)
    if rl:
        ax2.axvline(rl[0]["x"] - 0.5, color="grey", lw=0.6)
    ax2.set_xlabel("imitation epoch, then RL iteration / 2")
    ax2.set_ylabel("validation mean gap to MILP optimum (%)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_text_atomic(path, buf.getvalue())


def check_args(args: Args) -> None:
    """Every number finite and in range, the checkpoint name a plain name inside ``out_dir``, and no
    output on an input: one-line ``InputError`` naming the flag, before TensorFlow is even imported."""

    def count(hi: float, lo: int = 1) -> Range:
        return Range(lo, hi, integer=True)

    check_options(
        args,
        seed=SEED,
        teacher_instances=count(10**6),
        large_every=count(10**6, 0),
        epochs=count(10**5, 0),
        dagger_rounds=count(10**4, 0),
        dagger_epochs=count(10**5, 0),
        dagger_time_limit=TIME_LIMIT_S,
        batch_size=count(10**5),
        learning_rate=Range(0, 1, lo_open=True),
        rl_updates=count(10**7, 0),
        rl_instances=count(10**5),
        rollouts=count(10**4, 2),
        rl_learning_rate=Range(0, 1, lo_open=True),
        ent_coef=Range(0, 100),
        critic_coef=Range(0, 100),
        max_grad_norm=Range(0, 10**6, lo_open=True),
        min_controllers=count(10**4),
        max_controllers=count(10**4),
        min_requests_per_controller=Range(0, 10**4, lo_open=True),
        max_requests_per_controller=Range(0, 10**4, lo_open=True),
        hidden=count(MAX_HIDDEN),
        val_instances=count(10**5, 0),
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
    if args.baseline not in BASELINES:
        raise InputError(f"--baseline: must be one of {list(BASELINES)}, got {args.baseline!r}")
    if args.baseline != "pomo" and args.critic_coef == 0 and args.rl_updates:
        raise InputError(
            f"--baseline {args.baseline}: needs a critic; give --critic-coef > 0 or --baseline pomo"
        )
    if args.order not in ITEM_RULES:
        raise InputError(f"--order: must be one of {list(ITEM_RULES)}, got {args.order!r}")
    plain_name(args.name, option="--name")
    inputs = [args.catalog or None, args.devices or None]
    out = Path(args.out_dir) / args.name
    check_output(out, option="--out-dir/--name", inputs=inputs, folder=True)
    _check_own_folder(out, init=args.init)
    if args.curve:
        check_output(args.curve, option="--curve", inputs=inputs)
        curve = Path(args.curve)
        if curve.is_file() and curve.stat().st_size and curve.read_bytes()[:8] != PNG_MAGIC:
            raise InputError(
                f"--curve {printable(args.curve)}: exists and is not a PNG image; refusing to "
                "overwrite it"
            )
    if args.init:  # a bad starting checkpoint fails here, before any MILP or TensorFlow
        read_checkpoint(args.init)

    for opt, val in (("--teacher-cache", args.teacher_cache), ("--val-cache", args.val_cache)):
        if val:
            check_output(val, option=opt, inputs=inputs)
            if Path(val).exists() and _file_format(Path(val)) != OPTIMA_FORMAT:
                raise InputError(
                    f"{opt} {printable(val)}: exists and is not an optima cache "
                    f"(format {OPTIMA_FORMAT!r}); refusing to overwrite it"
                )


#: RL baselines (``--baseline``).
BASELINES = ("pomo", "critic", "both")

#: The first bytes of a PNG file: ``--curve`` replaces only a PNG (or nothing).
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: What ``train`` writes into ``<out_dir>/<name>/``, each file's expected ``format`` (None: the
#: weights, a zip archive): a folder holding anything else is the user's, never written into.
OWN_FILES: dict[str, str | None] = {
    "config.json": "edgeopt-drl-checkpoint/",
    "history.json": "edgeopt-drl-history/",
    "optima.json": "edgeopt-drl-optima/",
    "validation_optima.json": "edgeopt-drl-optima/",
    "policy.npz": None,
}


def _file_format(path: Path) -> str | None:
    """The ``format`` field of a small JSON file (None when it is not one)."""
    try:
        if path.stat().st_size > 256 * 2**20:
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    fmt = data.get("format") if isinstance(data, dict) else None
    return fmt if isinstance(fmt, str) else None


def _check_own_folder(out: Path, *, init: str) -> None:
    """``out`` may be written only if it is new, empty, or holds nothing but files an earlier
    ``train`` wrote there (so a rerun resumes its caches), and is not the ``--init`` checkpoint."""
    shown = f"--out-dir/--name {printable(str(out))}"
    if init and same_file(out, init):
        raise InputError(f"{shown}: is the --init checkpoint; refusing to overwrite it")
    if not out.is_dir():
        return
    for entry in sorted(out.iterdir()):
        want = OWN_FILES.get(entry.name, "")
        if not entry.is_file() or entry.is_symlink():
            ok = False
        elif want is None:
            ok = zipfile.is_zipfile(entry)
        else:
            fmt = _file_format(entry)
            ok = bool(want) and fmt is not None and fmt.startswith(want)
        if not ok:
            raise InputError(
                f"{shown}: holds {printable(entry.name)!r}, which train did not write; "
                "refusing to write into it (choose another --name or --out-dir)"
            )


def _caches(arg: str, name: str, out: Path) -> dict[str, Any]:
    """Where MILP results are read and written: ``--*-cache`` when given; else the shipped cache
    is read and anything newly solved is written into the checkpoint folder (never into the
    installed package)."""

    if arg:
        return {"cache": Path(arg)}
    return {"cache": out / name, "shipped": artefact_path("drl", "teacher") / name}


def train(args: Args, *, command: str = "") -> dict[str, Any]:
    """Imitation on proven optima, then POMO-style RL fine-tuning; keeps the weights of the best
    validation. Returns the summary written into the checkpoint's config."""
    check_args(args)

    quiet_tensorflow()
    import keras
    import tensorflow as tf
    from tqdm import tqdm

    started = time.perf_counter()
    out = Path(args.out_dir) / args.name
    rng = np.random.default_rng(args.seed)
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()

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
            **_caches(args.val_cache, "validation_optima.json", out),
            time_limit_s=args.milp_time_limit,
            progress=args.progress,
        )
        if val_problems
        else {}
    )
    references = _reference_gaps(val_problems, optima, args.order)

    # ---- teachers: proven optimal plans
    teachers = teacher_problems(dist, sources, args.teacher_instances, large_every=args.large_every)
    t_opt = milp_optima(
        teachers,
        **_caches(args.teacher_cache, "optima.json", out),
        time_limit_s=args.milp_time_limit,
        progress=args.progress,
        assignments=True,
    )
    proven = [p for p in teachers if t_opt[p.name]["status"] == "optimal"]
    samples = collect(
        proven, [np.array(t_opt[p.name]["assignment"]) for p in proven], order=args.order
    )
    t_ready = time.perf_counter() - started
    n_teacher_steps = sum(bool(x["pi"]) for x in samples)

    if args.init:
        init_policy, _, _ = read_checkpoint(args.init)
        agent = Agent(AgentConfig(hidden=init_policy.hidden, order=args.order), seed=args.seed)
        agent.set_numpy_policy(init_policy)
    else:
        agent = Agent(AgentConfig(hidden=args.hidden, order=args.order), seed=args.seed)
    model = agent.model
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"score": np.inf}

    def check(phase: str, step: int) -> None:
        """Validate; keep the weights when best; annotate the last history record."""
        if not val_problems:
            return
        v = validate(agent.numpy_policy(), val_problems, optima, args.order)
        history[-1].update(val_gap=v["gap_mean"], val_gap_max=v["gap_max"], val_stuck=v["stuck"])
        if "critic_root_error" in v:
            history[-1]["val_critic_root_error"] = v["critic_root_error"]
        score = v["stuck"] + (v["gap_mean"] if np.isfinite(v["gap_mean"]) else 1.0)
        if score < best["score"]:
            best.clear()
            best.update(score=score, phase=phase, step=step, **v)
            _save(agent, out, args, sources, dist, best, history, started, command, references)
        if args.curve:
            plot_curve(history, args.curve, references=references)

    # ---- imitation: cross-entropy on the teacher's (merged) choice
    il_opt = keras.optimizers.Adam(
        learning_rate=args.learning_rate, global_clipnorm=args.max_grad_norm
    )
    il_opt.build(model.trainable_variables)
    spec = _input_spec()

    huber = keras.losses.Huber(delta=1.0, reduction="none")
    critic_coef = float(args.critic_coef)

    @tf.function(
        input_signature=[
            *spec,
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None], tf.float32),
        ],
        reduce_retracing=True,
    )
    def il_step(*xs: Any) -> Any:
        *inp, target, pi, v_target = xs
        with tf.GradientTape() as tape:
            logits, value = model(dict(zip(INPUTS, inp)), training=True)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
            n_pi = tf.maximum(tf.reduce_sum(pi), 1.0)
            actor = tf.reduce_sum(pi * ce) / n_pi
            critic = tf.reduce_mean(huber(v_target[:, None], value[:, None]))
            loss = actor + critic_coef * critic
        grads = tape.gradient(loss, model.trainable_variables)
        il_opt.apply_gradients(zip(grads, model.trainable_variables))
        hit = tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), target), tf.float32)
        return actor, tf.reduce_sum(pi * hit) / n_pi, critic, tf.reduce_sum(pi)

    n_epochs = args.epochs + args.dagger_rounds * args.dagger_epochs
    bar = tqdm(
        total=n_epochs + args.rl_updates, desc="train", disable=not args.progress, file=sys.stderr
    )
    state = {"epoch": 0}

    def run_epochs(count: int, phase: str, lr0: float) -> None:
        """``count`` epochs over ``samples``, the learning rate cosine-annealed from ``lr0`` to 5 %."""
        steps = max(1, count * -(-len(samples) // args.batch_size))
        it = 0
        for _ in range(count):
            state["epoch"] += 1
            epoch = state["epoch"]
            losses, hits, ns, v_losses, n_states = [], [], [], [], 0
            for idx in batches(samples, args.batch_size, rng):
                frac = min(it / steps, 1.0)
                il_opt.learning_rate.assign(lr0 * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * frac))))
                it += 1
                mb = pad([samples[i] for i in idx])
                loss, hit, v_loss, n_pi = il_step(
                    *(mb[k] for k in INPUTS), mb["target"], mb["pi"], mb["v_target"]
                )
                losses.append(float(loss) * float(n_pi))
                hits.append(float(hit) * float(n_pi))
                ns.append(float(n_pi))
                v_losses.append(float(v_loss) * len(idx))
                n_states += len(idx)
            history.append(
                {
                    "phase": phase,
                    "x": epoch,
                    "epoch": epoch,
                    "loss": sum(losses) / max(sum(ns), 1.0),
                    "accuracy": sum(hits) / max(sum(ns), 1.0),
                    "critic_loss": sum(v_losses) / max(n_states, 1),
                    "decisions": int(sum(ns)),
                    "states": n_states,
                    "wall_s": round(time.perf_counter() - started, 1),
                }
            )
            if epoch % args.val_every == 0 or epoch == n_epochs:
                check(phase, epoch)
            bar.update(1)
            bar.set_postfix(
                loss=f"{history[-1]['loss']:.3f}", gap=f"{100 * best.get('gap_mean', np.nan):.2f}%"
            )

    run_epochs(args.epochs, "imitation", args.learning_rate)
    dagger_counts: list[dict[str, int]] = []
    for _round in range(args.dagger_rounds):
        ps, plans, ts, counts = exact_completions(
            agent.numpy_policy(),
            proven,
            rng,
            order=args.order,
            time_limit_s=args.dagger_time_limit,
            progress=args.progress,
        )
        new = collect(ps, plans, order=args.order, record_from=ts)
        samples.extend(new)
        dagger_counts.append({**counts, "decisions": sum(bool(x["pi"]) for x in new)})
        run_epochs(args.dagger_epochs, "dagger", args.learning_rate / 3)

    # ---- RL fine-tuning: sampled plans, actor-critic (--baseline)
    rl_opt = keras.optimizers.Adam(
        learning_rate=args.rl_learning_rate, global_clipnorm=args.max_grad_norm
    )
    rl_opt.build(model.trainable_variables)

    @tf.function(
        input_signature=[
            *spec,
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None], tf.float32),
        ],
        reduce_retracing=True,
    )
    def pg_grads(*xs: Any) -> Any:
        *inp, act, weight, v_target, v_weight = xs
        with tf.GradientTape() as tape:
            logits, value = model(dict(zip(INPUTS, inp)), training=True)
            logp_all = tf.nn.log_softmax(logits, axis=-1)
            lp = tf.gather(logp_all, act, batch_dims=1)
            choice = tf.cast(inp[2], tf.float32)
            ent = -tf.reduce_sum(tf.exp(logp_all) * logp_all * choice, axis=-1)
            critic = tf.reduce_sum(v_weight * huber(v_target[:, None], value[:, None]))
            loss = (
                -tf.reduce_sum(weight * lp)
                - args.ent_coef * tf.reduce_sum(tf.abs(tf.sign(weight)) * ent)
                + critic_coef * critic
            )
        return tape.gradient(loss, model.trainable_variables)

    for update in range(1, args.rl_updates + 1):
        first = args.seed * 1_000_000 + (update - 1) * args.rl_instances
        probs = mixed_problems(
            dist, sources, range(first, first + args.rl_instances), large_every=args.large_every
        )
        group = [p for p in probs for _ in range(args.rollouts)]
        policy = agent.numpy_policy()
        batch = PolicyBatch(group, order=args.order)
        rec_steps = []
        rewards = []
        while not batch.done.all():
            obs = batch.observe()
            logits, value = policy.heads(obs)
            action = choose(logits, obs["choice"], rng)
            live = ~batch.done
            active = live & (obs["choice"].sum(axis=1) >= 2)
            pred = np.where(obs["left"] > 0, value.astype(np.float64), 0.0)  # cost-to-go / scale
            rec_steps.append(
                (
                    {k: obs[k] for k in INPUTS},
                    action.astype(np.int32),
                    active,
                    live,
                    pred,
                )
            )
            reward, _ = batch.step(action)
            rewards.append(reward / batch.scale)
        # realised cost-to-go (scale units) before each step: minus the rewards from it on
        ctg = -np.cumsum(np.array(rewards)[::-1], axis=0)[::-1]
        ret = -ctg[0]
        r = ret.reshape(-1, args.rollouts)
        spread = r.std(axis=1, keepdims=True) + 1e-8
        adv_pomo = ((r - r.mean(axis=1, keepdims=True)) / spread).ravel()
        spread_b = np.repeat(spread.ravel(), args.rollouts)
        n_dec = max(1, int(sum(st[2].sum() for st in rec_steps)))
        n_live = max(1, int(sum(st[3].sum() for st in rec_steps)))
        acc = [tf.zeros_like(v) for v in model.trainable_variables]
        v_err = []
        for t_, (o, act, active, live, pred) in enumerate(rec_steps):
            sel = np.flatnonzero(live)
            if not sel.size:
                continue
            adv_critic = (pred[sel] - ctg[t_, sel]) / spread_b[sel]
            a = {
                "pomo": adv_pomo[sel],
                "critic": adv_critic,
                "both": 0.5 * (adv_pomo[sel] + adv_critic),
            }[args.baseline]
            w = np.where(active[sel], a / n_dec, 0.0).astype(np.float32)
            v_t = ctg[t_, sel].astype(np.float32)
            v_w = np.full(sel.size, 1.0 / n_live, np.float32)
            v_err.append(np.abs(pred[sel] - ctg[t_, sel]))
            grads = pg_grads(*(o[k][sel] for k in INPUTS), act[sel], w, v_t, v_w)
            acc = [x + y for x, y in zip(acc, grads)]
        rl_opt.apply_gradients(zip(acc, model.trainable_variables))
        history.append(
            {
                "phase": "rl",
                "x": n_epochs + update / 2,
                "update": update,
                "return": float(np.mean(ret)),
                "stuck": float(batch.stuck.mean()),
                "critic_abs_error": float(np.mean(np.concatenate(v_err))) if v_err else None,
                "wall_s": round(time.perf_counter() - started, 1),
            }
        )
        if update % (2 * args.val_every) == 0 or update == args.rl_updates:
            check("rl", update)
        bar.update(1)
        bar.set_postfix(
            ret=f"{history[-1]['return']:.2f}", gap=f"{100 * best.get('gap_mean', np.nan):.2f}%"
        )
    bar.close()
    if not val_problems:  # nothing to select on: keep the last weights
        best.update(
            phase="rl" if args.rl_updates else "imitation", step=args.rl_updates or n_epochs
        )
        _save(agent, out, args, sources, dist, best, history, started, command, references)
    extra = {
        "teachers": {
            "instances": len(teachers),
            "proven": len(proven),
            "decisions": n_teacher_steps,
            "ready_s": round(t_ready, 1),
        },
        "dagger": dagger_counts,
    }
    return _save(None, out, args, sources, dist, best, history, started, command, references, extra)


def _input_spec() -> list[Any]:
    import tensorflow as tf

    F, G, Fr, Fe = SIZES
    return [
        tf.TensorSpec([None, None, F], tf.float32),
        tf.TensorSpec([None, None], tf.bool),
        tf.TensorSpec([None, None], tf.bool),
        tf.TensorSpec([None, G], tf.float32),
        tf.TensorSpec([None, None, Fr], tf.float32),
        tf.TensorSpec([None, None], tf.bool),
        tf.TensorSpec([None, None, None], tf.int32),
        tf.TensorSpec([None, None, None, Fe], tf.float32),
        tf.TensorSpec([None, None, None], tf.bool),
    ]


def _reference_gaps(
    problems: list[Any], optima: dict[str, dict[str, Any]], order: str
) -> dict[str, float | None]:
    """Mean gaps of the heuristics on the validation instances: the regret greedy's first pass
    (the env's own item rule, least ΔZ column), ``greedy`` and ``greedy+ls``."""

    proven = [p for p in problems if optima.get(p.name, {}).get("status") == "optimal"]
    out: dict[str, float | None] = {}
    if not proven:
        return out
    zs = {p.name: optima[p.name]["objective"] for p in proven}
    first = validate(FirstPass(), proven, optima, order)["gap_mean"]
    out["greedy first pass"] = None if np.isnan(first) else first
    for name in ("greedy", "greedy+ls"):
        g = []
        for p in proven:
            r = get_solver(name)(p, seed=0)
            if r.objective is not None:
                g.append((r.objective - zs[p.name]) / max(abs(zs[p.name]), 1e-9))
        out[name] = float(np.mean(g)) if g else None
    return out


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
    references: dict[str, float | None],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Weights (when ``agent`` is given) and the JSON config with provenance and results."""

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
        "validation_reference_gaps": references,
        "wall_s": round(time.perf_counter() - started, 1),
        **(extra or {}),
    }
    if agent is not None:
        save_checkpoint(agent, out, extra={"training": summary})
    else:
        import json

        cfg = json.loads((out / CONFIG_FILE).read_text())
        assert cfg["format"] == CHECKPOINT_FORMAT
        cfg["training"] = summary
        write_json_atomic(out / CONFIG_FILE, cfg)
    write_json_atomic(out / "history.json", {"format": "edgeopt-drl-history/2", "history": history})
    return summary
