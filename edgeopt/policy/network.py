"""The planner's policy network in NumPy: inference without TensorFlow.

TensorFlow (:mod:`edgeopt.rl.agent`, above the solvers) trains the network; its
weights are exported to ``policy.npz`` and this module runs the same forward
pass with NumPy, batched over problems or over N sampled starts of one problem.
It sits below :mod:`edgeopt.solvers`, which plan with it without TensorFlow.

The network (per decision; B problems, K candidate columns of the current item,
L resources, R resources per column, H hidden units):

1. **Resources** ``(B, L, ·)``: two dense layers over each resource's features
   (utilisation, open demand, headroom below U, ...), the same weights for every
   resource, so relabelling controllers relabels embeddings.
2. **State**: one dense layer over the global features and the masked mean and
   max of the resource embeddings.
3. **Edges** (candidate column × resource it uses): a dense layer over the
   resource's embedding and the edge's own features (share of capacity, utilisation
   after); max-pooled over the column's resources.
4. **Candidates**: two dense layers over the column's features, its pooled edges
   and the state; then a layer that also sees the masked mean and max over the
   item's fitting candidates; a linear score (the actor).
5. **Value** (the critic): a dense layer over the state embedding and the masked
   mean and max of the candidate embeddings, then a linear output ``v``: the cost
   still to come from this partial plan (final Z minus Z so far), in units of the
   problem's cost scale. It counts only while items are open (``obs['left'] > 0``),
   so the cost-to-go of a complete plan is 0 whatever the weights.

Every step is the same function of each resource or candidate, and pooling is
symmetric, so the scores are equivariant under any relabelling of items,
controllers or resources. There is no hand-set prior: the scores are learned.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np

from edgeopt.errors import InputError

__all__ = [
    "LAYERS",
    "INPUTS",
    "CANDIDATE_INPUTS",
    "RESOURCE_INPUTS",
    "NumpyPolicy",
    "VALUE_LAYERS",
    "layer_shapes",
    "masked_log_softmax",
    "NEG",
]

NEG = -1e9
#: Observation arrays the network reads, in the order the Keras model takes them.
INPUTS = (
    "candidates",
    "mask",
    "choice",
    "state",
    "resources",
    "res_mask",
    "edge_res",
    "edge_feats",
    "edge_mask",
)
#: The inputs with a candidate axis (axis 1) and those with a resource axis.
CANDIDATE_INPUTS = ("candidates", "mask", "choice", "edge_res", "edge_feats", "edge_mask")
RESOURCE_INPUTS = ("resources", "res_mask")

#: Dense layers of the network: name -> (input width as a function of the sizes, activation).
#: Widths: F candidate features, G globals, Fr resource features, Fe edge features, H hidden.
LAYERS = (
    "res1",
    "res2",
    "state",
    "edge_h",
    "edge_f",
    "cand1_x",
    "cand1_e",
    "cand1_g",
    "cand2",
    "mix_h",
    "mix_ctx",
    "score",
    "value_h",
    "value",
)
#: The critic's layers (a checkpoint without them has no critic: it is refused, retrain it).
VALUE_LAYERS = ("value_h", "value")


#: Largest weight magnitude a checkpoint may hold (the shipped one's is 2.9): beyond it the
#: float32 forward pass overflows into NaN logits.
MAX_WEIGHT = 1e4


def layer_shapes(F: int, G: int, Fr: int, Fe: int, H: int) -> dict[str, tuple[int, int, bool]]:
    """(input width, output width, has bias) of every layer in :data:`LAYERS`."""
    return {
        "res1": (Fr, H, True),
        "res2": (H, H, True),
        "state": (G + 2 * H, H, True),
        "edge_h": (H, H, False),
        "edge_f": (Fe, H, True),
        "cand1_x": (F, H, True),
        "cand1_e": (H, H, False),
        "cand1_g": (H, H, False),
        "cand2": (H, H, True),
        "mix_h": (H, H, True),
        "mix_ctx": (2 * H, H, False),
        "score": (H, 1, True),
        "value_h": (3 * H, H, True),
        "value": (H, 1, True),
    }


def masked_log_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Log-probabilities over the masked-in candidates (−inf elsewhere), float64."""
    z = np.where(mask, logits.astype(np.float64), -np.inf)
    m = z.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lse = np.log(np.exp(z - m).sum(axis=-1, keepdims=True)) + m
        return np.where(mask, z - lse, -np.inf)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0, out=x)


def _masked_mean_max(h: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and max over axis 1 of ``h`` (B, N, H) where ``mask`` (B, N); 0 for empty rows.
    ``h`` is post-ReLU (≥ 0), so zeroing the masked-out rows leaves the max right."""
    m = mask[:, :, None].astype(h.dtype)
    hm = h * m
    n = np.maximum(m.sum(axis=1), 1.0)
    return hm.sum(axis=1) / n, hm.max(axis=1)


@nb.njit(cache=True)
def _edge_max(res_part, edge_res, edge_lin, bias, mask):  # pragma: no cover - compiled
    """Per candidate the max over its edges of ``relu(res_part[b, edge_res] + (edge_lin + bias))
    * mask`` (B, K, H) in float32: the NumPy steps gather, ``+=``, ReLU, mask and max over
    axis 2 fused in one pass, each operation the same float32 one in the same order."""
    B, K, R = edge_res.shape
    H = bias.size
    out = np.empty((B, K, H), np.float32)
    v = np.empty(H, np.float32)
    for b in range(B):
        for k in range(K):
            for r in range(R):
                row = edge_res[b, k, r]
                m = mask[b, k, r]
                for h in range(H):
                    x = res_part[b, row, h] + (edge_lin[b, k, r, h] + bias[h])
                    if not (x >= np.float32(0.0) or np.isnan(x)):  # np.maximum(x, 0)
                        x = np.float32(0.0)
                    x = x * m
                    if r == 0:
                        v[h] = x
                    elif not (v[h] >= x or np.isnan(v[h])):  # np.maximum(v, x)
                        v[h] = x
            for h in range(H):
                out[b, k, h] = v[h]
    return out


@dataclass
class NumpyPolicy:
    """The exported weights and the forward pass. ``weights[name] = (kernel, bias or None)``."""

    weights: dict[str, tuple[np.ndarray, np.ndarray | None]]
    hidden: int

    def _dense(self, name: str, x: np.ndarray) -> np.ndarray:
        k, b = self.weights[name]
        y = x @ k
        if b is not None:
            y += b
        return y

    def logits(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Scores (B, K) float32, :data:`NEG` outside ``obs['choice']``."""
        return self.heads(obs, value=False)[0]

    def value(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The critic's raw output (B,) float32: the predicted cost-to-go / scale."""
        return self.heads(obs, logits=False)[1]

    def cost_to_go(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Predicted cost still to come (B,) float64, in units of each row's cost scale; exactly
        0 on a complete (or stuck) plan, where ``obs['left']`` is 0."""
        return np.where(obs["left"] > 0, self.value(obs).astype(np.float64), 0.0)

    def heads(
        self, obs: dict[str, np.ndarray], *, logits: bool = True, value: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Both heads over one encoder pass: scores (B, K) float32 (:data:`NEG` outside
        ``obs['choice']``) and the critic's raw value (B,) float32; a head not asked for is
        an empty array."""
        res = obs["resources"]
        B = res.shape[0]
        r = _relu(self._dense("res1", res))
        r = _relu(self._dense("res2", r))
        r_mean, r_max = _masked_mean_max(r, obs["res_mask"])
        g = _relu(self._dense("state", np.concatenate([obs["state"], r_mean, r_max], axis=1)))
        p = r @ self.weights["edge_h"][0]  # (B, L, H): the resource part of every edge
        # every edge: relu(p[edge_res] + edge_f(edge_feats)) masked, max-pooled over the
        # column's resources (B, K, H), in one compiled pass
        k_f, b_f = self.weights["edge_f"]
        lin = obs["edge_feats"] @ k_f
        if p.dtype == lin.dtype == np.float32 and b_f is not None and b_f.dtype == np.float32:
            e_max = _edge_max(
                np.ascontiguousarray(p),
                np.ascontiguousarray(obs["edge_res"]),
                np.ascontiguousarray(lin),
                b_f,
                np.ascontiguousarray(obs["edge_mask"], dtype=np.float32),
            )
        else:  # weights of another precision: the same steps in NumPy
            e = p[np.arange(B)[:, None, None], obs["edge_res"]]  # (B, K, R, H)
            if b_f is not None:
                lin += b_f
            e += lin
            _relu(e)
            e *= obs["edge_mask"][..., None]
            e_max = e.max(axis=2)  # (B, K, H)
        c = self._dense("cand1_x", obs["candidates"])
        c += e_max @ self.weights["cand1_e"][0]
        c += (g @ self.weights["cand1_g"][0])[:, None, :]
        c = _relu(self._dense("cand2", _relu(c)))
        c_mean, c_max = _masked_mean_max(c, obs["mask"])
        out_s = out_v = np.zeros(0, np.float32)
        if value:
            v = _relu(self._dense("value_h", np.concatenate([g, c_mean, c_max], axis=1)))
            out_v = self._dense("value", v)[:, 0].astype(np.float32)
        if logits:
            m = self._dense("mix_h", c)
            m += (np.concatenate([c_mean, c_max], axis=1) @ self.weights["mix_ctx"][0])[:, None, :]
            s = self._dense("score", _relu(m))[..., 0]
            out_s = np.where(obs["choice"], s, np.float32(NEG)).astype(np.float32)
        return out_s, out_v

    # ----------------------------------------------------------------- files
    def to_bytes(self) -> bytes:
        arrays: dict[str, Any] = {"hidden": np.array(self.hidden)}
        for name, (k, b) in self.weights.items():
            arrays[f"{name}/kernel"] = k
            if b is not None:
                arrays[f"{name}/bias"] = b
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_file(
        cls, path: str | Path, *, sizes: tuple[int, int, int, int], source: str
    ) -> NumpyPolicy:
        """Load ``policy.npz``; shapes are checked against this edgeopt's feature counts
        ``sizes`` = (F, G, Fr, Fe). Any problem is one :class:`InputError` line."""
        fname = Path(path).name

        def member(z: Any, key: str) -> np.ndarray | None:
            """One array, its stored size checked first (a small file may inflate to gigabytes)."""
            if key not in z.files:
                return None
            size = z.zip.getinfo(f"{key}.npy").file_size
            if size > limit.get(key, 4096):
                raise InputError(
                    f"{fname}: member {key!r} holds {size:,} bytes, more than float64 weights of "
                    f"its shape need (at most {limit.get(key, 4096):,})",
                    source=source,
                )
            return np.asarray(z[key])

        limit: dict[str, int] = {}
        arrays: dict[str, np.ndarray | None] = {}
        if not zipfile.is_zipfile(path):  # np.load would call a text file "pickled data"
            raise InputError(f"cannot read {fname}: not a .npz archive", source=source)
        try:
            with np.load(path, allow_pickle=False) as z:
                h = member(z, "hidden")
                if h is not None and h.shape == () and h.dtype.kind in "iu":
                    shapes = layer_shapes(*sizes, int(min(max(int(h), 1), 4096)))
                    for name, (n_in, n_out, _) in shapes.items():  # float64 at most, + header
                        limit[f"{name}/kernel"] = 8 * n_in * n_out + 4096
                        limit[f"{name}/bias"] = 8 * n_out + 4096
                    arrays = {k: member(z, k) for k in limit}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"cannot read {fname}: {first[:200]}", source=source) from None
        if h is None or h.shape != () or h.dtype.kind not in "iu" or not 1 <= int(h) <= 4096:
            raise InputError(
                f"{Path(path).name}: 'hidden' must be an integer from 1 to 4096", source=source
            )
        H = int(h)
        weights: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for name, (n_in, n_out, has_bias) in layer_shapes(*sizes, H).items():
            k = arrays.get(f"{name}/kernel")
            b = arrays.get(f"{name}/bias")
            if (
                k is None
                or k.shape != (n_in, n_out)
                or (has_bias and (b is None or b.shape != (n_out,)))
            ):
                got = None if k is None else k.shape
                raise InputError(
                    f"{Path(path).name}: layer {name!r} has kernel shape {got}, this edgeopt needs "
                    f"{(n_in, n_out)}; the checkpoint was made for other features, retrain it",
                    source=source,
                )
            for w in (k, b):
                if w is not None and w.dtype not in (np.float16, np.float32, np.float64):
                    raise InputError(
                        f"{fname}: layer {name!r} holds {w.dtype} values, expected floating-point "
                        "weights",
                        source=source,
                    )
            if not (np.isfinite(k).all() and (b is None or np.isfinite(b).all())):
                raise InputError(f"{fname}: layer {name!r} has non-finite weights", source=source)
            if (
                max(np.abs(k).max(initial=0), 0 if b is None else np.abs(b).max(initial=0))
                > MAX_WEIGHT
            ):
                raise InputError(
                    f"{fname}: layer {name!r} has weights beyond ±{MAX_WEIGHT:g} (trained ones stay "
                    "in single digits)",
                    source=source,
                )
            weights[name] = (k.astype(np.float32), None if b is None else b.astype(np.float32))
        return cls(weights, H)
