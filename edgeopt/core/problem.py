"""The core problem: a multiple-choice generalised assignment problem with a
bottleneck term (docs/model.md §5), held in numpy arrays.

Columns are stored grouped by item: the columns of item ``i`` are
``range(item_ptr[i], item_ptr[i + 1])``. Resource use is a sparse matrix
``use`` of shape (n_resources, n_columns) in CSC layout, so the loads of an
assignment are ``use[:, cols].sum(axis=1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

__all__ = ["Problem", "CLOUD"]

#: Bin id of the cloud fallback in problems compiled from scenarios.
CLOUD = "cloud"


@dataclass(eq=False)
class Problem:
    """A core problem. Build it with :meth:`Problem.from_columns` or by compiling a scenario.

    Attributes
    ----------
    name : str
        Instance name.
    sense : {"min", "max"}
        Sense of the *source* objective. Internally every problem minimises;
        a maximisation problem stores negated costs and reports ``-Z``.
    item_ids, bin_ids, option_ids, resource_ids : list of str
        Ids of items, bins, options and resources.
    item_ptr : int64 array (n_items + 1,)
        Column ranges per item (columns are grouped by item).
    col_item, col_bin, col_option : int64 arrays (n_columns,)
        Item, bin and option index of every column.
    col_cost : float64 array (n_columns,)
        Cost c_j (already weighted).
    col_terms : float64 array (n_columns, n_terms)
        The parts of ``col_cost`` by objective term; rows sum to ``col_cost``.
    term_names : tuple of str
        Names of the columns of ``col_terms`` (e.g. accuracy, network, cloud).
    use : scipy.sparse.csc_array (n_resources, n_columns)
        Resource use a_jl.
    capacity : float64 array (n_resources,)
        Capacities cap_l (> 0).
    balanced : bool array (n_resources,)
        Which resources enter the bottleneck term U.
    balance_weight : float
        w_U, the weight of U = max over balanced loads.
    empty_items : list of str
        Items that had no admissible column (the problem is infeasible if any).
    meta : dict
        Free-form provenance (source file, scenario name, ...), JSON-serialisable.
    col_info : dict of str to array (n_columns,)
        Optional per-column quantities of the source (e.g. a scenario's compute
        share, memory, latency); kept aligned with the columns by ``subset``.
    """

    name: str
    sense: str
    item_ids: list[str]
    bin_ids: list[str]
    option_ids: list[str]
    resource_ids: list[str]
    item_ptr: np.ndarray
    col_item: np.ndarray
    col_bin: np.ndarray
    col_option: np.ndarray
    col_cost: np.ndarray
    col_terms: np.ndarray
    term_names: tuple[str, ...]
    use: sp.csc_array
    capacity: np.ndarray
    balanced: np.ndarray
    balance_weight: float
    meta: dict[str, Any] = field(default_factory=dict)
    col_info: dict[str, np.ndarray] = field(default_factory=dict)

    # ------------------------------------------------------------------ sizes
    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_columns(self) -> int:
        return int(self.col_item.shape[0])

    @property
    def n_resources(self) -> int:
        return len(self.resource_ids)

    @property
    def n_bins(self) -> int:
        return len(self.bin_ids)

    @property
    def empty_items(self) -> list[str]:
        counts = np.diff(self.item_ptr)
        return [self.item_ids[i] for i in np.flatnonzero(counts == 0)]

    def columns_of(self, item: int) -> range:
        """Column indices of item ``item``."""
        return range(int(self.item_ptr[item]), int(self.item_ptr[item + 1]))

    def source_objective(self, z: float) -> float:
        """Z expressed in the source's own sense (negated back for maximisation)."""
        return -z if self.sense == "max" else z

    @property
    def use_csr(self) -> sp.csr_array:
        """Row-major copy of ``use`` (cached): fast per-resource slicing."""
        cached = self.__dict__.get("_use_csr")
        if cached is None:
            cached = sp.csr_array(self.use)
            self.__dict__["_use_csr"] = cached
        return cached

    @property
    def dense_use(self) -> np.ndarray:
        """Dense (n_columns, n_resources) use matrix (cached): small/medium problems only."""
        cached = self.__dict__.get("_dense_use")
        if cached is None:
            cached = np.asarray(self.use.T.toarray(), dtype=np.float64)
            self.__dict__["_dense_use"] = cached
        return cached

    def column_label(self, j: int) -> str:
        """Readable name of column ``j``: ``item/option@bin``."""
        return (
            f"{self.item_ids[self.col_item[j]]}/{self.option_ids[self.col_option[j]]}"
            f"@{self.bin_ids[self.col_bin[j]]}"
        )

    def subset(self, keep: np.ndarray, *, name: str | None = None) -> Problem:
        """A copy keeping only the columns where boolean mask ``keep`` is true (order kept)."""
        keep = np.asarray(keep, dtype=bool)
        idx = np.flatnonzero(keep)
        counts = np.bincount(self.col_item[idx], minlength=self.n_items)
        ptr = np.zeros(self.n_items + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        return Problem(
            name=name or self.name,
            sense=self.sense,
            item_ids=self.item_ids,
            bin_ids=self.bin_ids,
            option_ids=self.option_ids,
            resource_ids=self.resource_ids,
            item_ptr=ptr,
            col_item=self.col_item[idx],
            col_bin=self.col_bin[idx],
            col_option=self.col_option[idx],
            col_cost=self.col_cost[idx],
            col_terms=self.col_terms[idx],
            term_names=self.term_names,
            use=sp.csc_array(self.use[:, idx]),
            capacity=self.capacity,
            balanced=self.balanced,
            balance_weight=self.balance_weight,
            meta=dict(self.meta),
            col_info={k: v[idx] for k, v in self.col_info.items()},
        )

    # ------------------------------------------------------------ construction
    @classmethod
    def from_columns(
        cls,
        *,
        name: str,
        item_ids: list[str],
        bin_ids: list[str],
        option_ids: list[str],
        resource_ids: list[str],
        col_item: ArrayLike,
        col_bin: ArrayLike,
        col_option: ArrayLike,
        col_cost: ArrayLike,
        capacity: ArrayLike,
        use_rows: ArrayLike | None = None,
        use_cols: ArrayLike | None = None,
        use_vals: ArrayLike | None = None,
        use: sp.csc_array | None = None,
        balanced: ArrayLike | None = None,
        balance_weight: float = 0.0,
        col_terms: ArrayLike | None = None,
        term_names: tuple[str, ...] = ("cost",),
        sense: str = "min",
        meta: dict[str, Any] | None = None,
        col_info: dict[str, np.ndarray] | None = None,
    ) -> Problem:
        """Build a problem from column arrays in any order (they are stably sorted by item).

        ``use_rows``/``use_cols``/``use_vals`` are COO triplets (resource, column, amount);
        duplicates are summed. Alternatively ``use`` is the CSC matrix itself, for columns
        already grouped by item (a compiler that builds it directly skips the COO copies).
        """
        col_item = np.asarray(col_item, dtype=np.int64)
        n_cols = col_item.shape[0]
        grouped = bool(np.all(col_item[1:] >= col_item[:-1]))
        order = (
            np.arange(n_cols, dtype=np.int64) if grouped else np.argsort(col_item, kind="stable")
        )
        counts = np.bincount(col_item, minlength=len(item_ids))
        ptr = np.zeros(len(item_ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        cost = np.asarray(col_cost, dtype=np.float64)
        terms = (
            cost[:, None].copy() if col_terms is None else np.asarray(col_terms, dtype=np.float64)
        )
        if use is not None:
            if not grouped:
                raise ValueError("a ready use matrix needs its columns grouped by item")
            use = sp.csc_array(use)
        else:
            if use_rows is None or use_cols is None or use_vals is None:
                raise ValueError("give use_rows, use_cols and use_vals, or use")
            inverse = np.empty(n_cols, dtype=np.int64)
            inverse[order] = np.arange(n_cols, dtype=np.int64)
            use = sp.coo_array(
                (
                    np.asarray(use_vals, dtype=np.float64),
                    (
                        np.asarray(use_rows, dtype=np.int64),
                        inverse[np.asarray(use_cols, dtype=np.int64)],
                    ),
                ),
                shape=(len(resource_ids), n_cols),
            ).tocsc()
        use.sum_duplicates()
        use.eliminate_zeros()
        bal = (
            np.zeros(len(resource_ids), dtype=bool)
            if balanced is None
            else np.asarray(balanced, dtype=bool)
        )
        return cls(
            name=name,
            sense=sense,
            item_ids=list(item_ids),
            bin_ids=list(bin_ids),
            option_ids=list(option_ids),
            resource_ids=list(resource_ids),
            item_ptr=ptr,
            col_item=col_item if grouped else col_item[order],
            col_bin=np.asarray(col_bin, dtype=np.int64)
            if grouped
            else np.asarray(col_bin, dtype=np.int64)[order],
            col_option=np.asarray(col_option, dtype=np.int64)
            if grouped
            else np.asarray(col_option, dtype=np.int64)[order],
            col_cost=cost if grouped else cost[order],
            col_terms=terms if grouped else terms[order],
            term_names=tuple(term_names),
            use=sp.csc_array(use),
            capacity=np.asarray(capacity, dtype=np.float64),
            balanced=bal,
            balance_weight=float(balance_weight),
            meta=dict(meta or {}),
            col_info={
                k: np.asarray(v) if grouped else np.asarray(v)[order]
                for k, v in (col_info or {}).items()
            },
        )
