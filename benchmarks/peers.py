"""Uniform adapters around tabdiff and the tools a user would pick instead (benchmark-only).

Every adapter has the same calls:

    adapter = make_adapter(name, **options).load()                 # imports the tool (untimed)
    adapter.fit(train_df, discrete_columns, seed, time_budget_s)   # -> adapter
    gen = adapter.sample(n, seed)                                   # -> DataFrame

`sample` returns the training table's columns, in order, with the training dtypes (integer columns as
int64, text as object), so that every system is scored on the same footing by `evaluate_tables`.

Peers are imported lazily (`load`, and again in `fit`): a missing or broken peer raises `PeerUnavailable`
with the import error, which the runner reports as "not installed" (footnote in RESULTS_peers.md), not a crash.
`time_budget_s` is the wall-clock budget of training in seconds; adapters whose tool has no time limit
(CTGAN, TVAE, ForestDiffusion) take their size (epochs, rows) from `options`, chosen per dataset in
bench_peers.py so that they fit the same budget.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


class PeerUnavailable(RuntimeError):
    """The peer's package is missing or fails to import; the message holds the import error."""


def _import(what: str, statement: Callable[[], Any]) -> Any:
    """Run an import lazily; turn any failure (ImportError, torchvision op errors...) into PeerUnavailable."""
    try:
        return statement()
    except Exception as exc:  # a broken peer raises RuntimeError/AttributeError too, not only ImportError
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise PeerUnavailable(f"{what}: {type(exc).__name__}: {first_line}") from exc


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch global generators (peers that take no seed draw from these)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # torch-free peers still run
        pass


BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}


def _bool_word(v: Any) -> Any:
    # a tool that returns booleans as text ('False') must not read as True: bool('False') is True
    return BOOL_WORDS.get(v.strip().lower(), v) if isinstance(v, str) else v


def restore_frame(gen: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """`gen` with `like`'s columns, order and dtypes.

    Integer columns are rounded before the cast (a float 3.9999 must become 4, not 3); an integer column
    with missing cells becomes float64, as pandas reads it. Text columns become object dtype holding str.
    Boolean columns returned as text ('True' / 'False', as mostlyai-engine gives back the booleans the
    adapter passes it as text) are read by their words; a bare astype(bool) made every Shoppers row True.
    """
    out = pd.DataFrame(index=range(len(gen)))
    for col in like.columns:
        values = gen[col].reset_index(drop=True)
        dtype = like[col].dtype
        if pd.api.types.is_bool_dtype(dtype):
            # a tool that returns booleans as text ('False') must not read as True: bool('False') is True
            out[col] = values.map(_bool_word).astype(bool)
        elif pd.api.types.is_integer_dtype(dtype):
            num = pd.to_numeric(values, errors="coerce").round()
            out[col] = num.astype("int64") if num.notna().all() else num.astype("float64")
        elif pd.api.types.is_numeric_dtype(dtype):
            out[col] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            out[col] = values.map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    return out


class Adapter:
    """Base class: stores the training frame's layout; subclasses implement `_fit` and `_sample`."""

    # Modules that `load` imports (fit imports them again, then from the cache).
    modules: tuple[str, ...] = ()

    def __init__(self, **options: Any):
        self.options = options
        self.like: pd.DataFrame | None = None
        self.training: dict[str, Any] = {}  # what training did, where the tool says (tabdiff: steps run)

    def load(self) -> Adapter:
        """Import the tool (untimed by the runner: start-up cost is not training). Raises PeerUnavailable."""
        import importlib

        for module in self.modules:
            _import(module.split(".")[0], lambda m=module: importlib.import_module(m))
        return self

    def fit(self, train_df: pd.DataFrame, discrete_columns: list[str], seed: int,
            time_budget_s: float | None) -> Adapter:
        """Learn `train_df` (n_rows × d); `discrete_columns` are the schema's categorical/boolean columns."""
        self.like = train_df.head(0)
        seed_everything(seed)
        self._fit(train_df, list(discrete_columns), int(seed), time_budget_s)
        return self

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """Generate `n` rows with the training columns and dtypes."""
        seed_everything(seed)
        return restore_frame(self._sample(int(n), int(seed)), self.like)

    def _fit(self, df: pd.DataFrame, discrete: list[str], seed: int, budget: float | None) -> None:
        raise NotImplementedError

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        raise NotImplementedError


# ------------------------------------------------------------------------------------------------ tabdiff


class TabdiffAdapter(Adapter):
    """tabdiff's `DiffusionSynthesizer` with a packaged preset (option `config`: "iris" = the blog recipe,
    or "default").

    The time budget goes to `training.max_time` (seconds): training stops at whichever of its step/epoch
    count or the budget comes first.
    """

    modules = ("tabdiff_cli.synthesizer",)

    def _fit(self, df, discrete, seed, budget):
        from tabdiff_cli import DiffusionSynthesizer
        from tabdiff_cli.config import load_config, preset_path, with_overrides

        cfg = load_config(preset_path(self.options.get("config", "default")))
        # tabdiff infers its own schema (the same infer_schema that gave `discrete`), so `discrete` is unused.
        cfg = with_overrides(cfg, training__max_time=budget)
        self.model = DiffusionSynthesizer(cfg).fit(df, seed=seed)
        meta = self.model.meta
        # a budgeted run's quality follows its step count, which a busy machine cuts (a 60 s Default fit ran
        # 51 steps instead of ~1,150 beside another 2-thread job), so the record keeps it
        self.training = {"steps": meta["steps"], "stopped_by_time": meta["stopped_by_time"],
                         "final_loss": meta["final_loss"]}

    def _sample(self, n, seed):
        return self.model.sample(n, seed=seed)


# ------------------------------------------------------------------------------------------------ SDV


def sdv_metadata(df: pd.DataFrame, discrete: list[str], table: str = "table"):
    """SDV 2.x single-table metadata built by hand: discrete → categorical, else numerical."""
    Metadata = _import("sdv", lambda: __import__("sdv.metadata", fromlist=["Metadata"]).Metadata)
    columns = {c: {"sdtype": "categorical" if c in discrete else "numerical"} for c in df.columns}
    return Metadata.load_from_dict({"tables": {table: {"columns": columns}}})


class SDVAdapter(Adapter):
    """SDV 2.x single-table synthesizer (`synthesizer`: GaussianCopula, CTGAN or TVAE).

    options: epochs (CTGAN/TVAE; SDV's default 300), batch_size (CTGAN/TVAE; default 500). SDV 2.x takes
    and returns {table_name: DataFrame}. CPU only (enable_gpu=False) so runs are comparable.
    """

    table = "table"
    modules = ("sdv.metadata", "sdv.single_table")

    def _fit(self, df, discrete, seed, budget):
        cls_name = f"{self.options['synthesizer']}Synthesizer"
        cls = _import("sdv", lambda: getattr(__import__("sdv.single_table", fromlist=[cls_name]), cls_name))
        kwargs = {}
        if self.options["synthesizer"] in ("CTGAN", "TVAE"):
            kwargs = {"epochs": int(self.options.get("epochs", 300)), "enable_gpu": False}
            if "batch_size" in self.options:
                kwargs["batch_size"] = int(self.options["batch_size"])
        self.model = cls(sdv_metadata(df, discrete, self.table), **kwargs)
        self.model.fit({self.table: df})

    def _sample(self, n, seed):
        # SDV re-seeds sampling with a fixed constant (FIXED_RNG_SEED) unless told otherwise; without this
        # every benchmark seed of the deterministic GaussianCopula would give the very same rows.
        if hasattr(self.model, "_set_random_state"):
            self.model._set_random_state(seed)
        out = self.model.sample(n)
        return out[self.table] if isinstance(out, dict) else out


# ------------------------------------------------------------------------------------ ForestDiffusion


class ForestDiffusionAdapter(Adapter):
    """ForestDiffusion (Jolicoeur-Martineau et al., 2024): XGBoost flow matching, its defaults otherwise.

    The tool takes a float matrix: discrete columns become integer codes (missing = a code of its own) and
    are declared as binary (2 levels) or categorical (3+); integer columns are declared int (rounded on
    output). options: max_rows (train on a seeded subsample of this many rows; the tool is slow),
    n_t, duplicate_K, n_estimators (the tool's defaults 50, 100, 100); any other option is passed on to
    XGBoost (e.g. multi_strategy="multi_output_tree": one tree for all outputs instead of one per output).
    """

    modules = ("ForestDiffusion",)

    def _fit(self, df, discrete, seed, budget):
        module = _import("ForestDiffusion", lambda: __import__("ForestDiffusion"))
        FDM = module.ForestDiffusionModel
        max_rows = self.options.get("max_rows")
        if max_rows and len(df) > max_rows:
            df = df.sample(n=int(max_rows), random_state=seed)
        self.codes: dict[str, list] = {}
        X = np.empty((len(df), df.shape[1]), dtype=np.float64)
        bins, cats, ints = [], [], []
        for j, col in enumerate(df.columns):
            if col in discrete:
                codes, levels = pd.factorize(df[col], use_na_sentinel=False)
                self.codes[col] = list(levels)
                X[:, j] = codes
                (bins if len(levels) == 2 else cats if len(levels) > 2 else ints).append(j)
            else:
                X[:, j] = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
                if pd.api.types.is_integer_dtype(df[col].dtype):
                    ints.append(j)
        params = {k: int(v) for k, v in self.options.items() if k in ("n_t", "duplicate_K", "n_estimators")}
        # Any other option is an XGBoost parameter (the tool forwards them), e.g. multi_strategy.
        own = ("n_t", "duplicate_K", "n_estimators", "max_rows")
        xgb = {k: v for k, v in self.options.items() if k not in own}
        # joblib already runs one model per core; one XGBoost thread each avoids oversubscribing 2 cores.
        xgb.setdefault("nthread", 1)
        self.model = FDM(X, bin_indexes=bins, cat_indexes=cats, int_indexes=ints, diffusion_type="flow",
                         n_jobs=-1, seed=seed, **params, **xgb)
        self.columns = list(df.columns)

    def _sample(self, n, seed):
        X = self.model.generate(batch_size=n)
        out = pd.DataFrame(X, columns=self.columns)
        for col, levels in self.codes.items():
            idx = np.clip(np.round(out[col].to_numpy(dtype=float)), 0, len(levels) - 1).astype(int)
            out[col] = pd.Series(np.asarray(levels, dtype=object)[idx]).where(lambda s: s.notna(), None)
        return out


# ------------------------------------------------------------------------------------ mostlyai-engine


class MostlyAdapter(Adapter):
    """mostlyai-engine's TabularARGN (autoregressive network), its defaults (model MOSTLY_AI/Medium) on CPU.

    The time budget goes to `max_training_time` (minutes); its own early stopping may end training sooner.
    Without a budget it trains until its early stopping (or its 100-epoch cap) ends it.
    The engine reads column types itself; discrete numeric codes are passed as strings so it sees them as
    categories.
    """

    modules = ("mostlyai.engine",)

    def _fit(self, df, discrete, seed, budget):
        engine = _import("mostlyai-engine", lambda: __import__("mostlyai.engine", fromlist=["TabularARGN"]))
        self.engine = engine
        self.workdir = tempfile.TemporaryDirectory(prefix="bench-mostly-")
        df = df.copy()
        for col in discrete:
            if pd.api.types.is_numeric_dtype(df[col].dtype):
                df[col] = df[col].map(lambda v: v if pd.isna(v) else str(v))
        # no budget: the engine's own default limit (14,400 minutes), so its early stopping decides
        limit = {} if budget is None else {"max_training_time": budget / 60.0}
        self.model = engine.TabularARGN(**limit, device="cpu", random_state=seed,
                                        workspace_dir=self.workdir.name, verbose=0)
        self.model.fit(df)

    def _sample(self, n, seed):
        self.engine.set_random_state(seed)
        return self.model.sample(n_samples=n)


# ------------------------------------------------------------------------------------------------ registry

# Display name → (adapter class, fixed options). Per-dataset options (epochs, rows) come from the runner.
SYSTEMS: dict[str, tuple[type[Adapter], dict[str, Any]]] = {
    "tabdiff (blog recipe)": (TabdiffAdapter, {"config": "iris"}),
    "tabdiff (default)": (TabdiffAdapter, {"config": "default"}),
    "SDV GaussianCopula": (SDVAdapter, {"synthesizer": "GaussianCopula"}),
    "SDV CTGAN": (SDVAdapter, {"synthesizer": "CTGAN"}),
    "SDV TVAE": (SDVAdapter, {"synthesizer": "TVAE"}),
    "ForestDiffusion": (ForestDiffusionAdapter, {}),
    "mostlyai-engine TabularARGN": (MostlyAdapter, {}),
}

# Short command-line keys for --systems.
SYSTEM_KEYS = {
    "tabdiff-blog": "tabdiff (blog recipe)",
    "tabdiff": "tabdiff (default)",
    "gaussiancopula": "SDV GaussianCopula",
    "ctgan": "SDV CTGAN",
    "tvae": "SDV TVAE",
    "forestdiffusion": "ForestDiffusion",
    "mostlyai": "mostlyai-engine TabularARGN",
}

# Names from before the blog recipe was called so: run JSON keeps the system name it ran under ("tabdiff (seed
# config)", files *__tabdiff-seed-config__*), which the report places as the current name; old commands'
# --systems key still selects it.
LEGACY_SYSTEMS = {"tabdiff (seed config)": "tabdiff (blog recipe)"}
LEGACY_KEYS = {"tabdiff-seed": "tabdiff-blog"}

# Distribution names whose versions RESULTS_peers.md records.
PEER_PACKAGES = ("sdv", "ctgan", "rdt", "copulas", "ForestDiffusion", "xgboost", "mostlyai-engine", "torch",
                 "numpy", "pandas", "scikit-learn")


def make_adapter(name: str, **options: Any) -> Adapter:
    """The adapter for display name `name`, with the registry's fixed options plus `options`."""
    cls, fixed = SYSTEMS[name]
    return cls(**{**fixed, **options})
