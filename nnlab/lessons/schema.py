"""What a lesson file holds, as frozen records, and the checks that turn a parsed TOML table into them.

Stage 6 (lessons). `load.py` reads and parses a file, then calls `build(table, where)`; every problem raises
`LessonError` with the file, the line (found by `where`) and the field, in words. The presets are the configs
the Train page and the command line know (`DataConfig`, a model kind's settings, `TrainConfig`, `RecordConfig`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..data import DataConfig
from ..models import model_kinds
from ..record import RecordConfig
from ..train import TrainConfig
from .checks import CHECKS
from .facts import FACTS
from .template import TemplateError, fields

# The app's pages a step can open: app_pages/<name>.py beside this package when it is there (a page added later
# is known at once), else this list of the pages when lessons were written.
PAGES = (
    "home",
    "lessons",
    "datasets",
    "train",
    "runs",
    "walkthrough",
    "backprop",
    "class_averages",
    "attribution",
    "hidden",
    "latent",
    "attention",
    "weights",
    "boundary",
    "compare",
    "units",
    "features",
)
APP_PAGES = Path(__file__).resolve().parents[2] / "app_pages"


def known_pages() -> tuple[str, ...]:
    """The pages a step may name."""
    found = tuple(sorted(p.stem for p in APP_PAGES.glob("*.py"))) if APP_PAGES.is_dir() else ()
    return found or PAGES


MIN_STEPS, MAX_STEPS = 3, 6
CONTROLS = ("run", "snapshot")  # sidebar controls a lesson may keep in focus mode


class LessonError(ValueError):
    """A lesson file that cannot be used: `str()` is "lessons/mine.toml, line 12: step 3 has no 'text'"."""

    def __init__(self, path: str, line: int | None, problem: str):
        self.path, self.line, self.problem = path, line, problem
        super().__init__(f"{path}, line {line}: {problem}" if line else f"{path}: {problem}")


@dataclass(frozen=True)
class Preset:
    """One run a lesson trains (or reuses): the same configs as the Train page's."""

    name: str
    data: DataConfig
    kind: str  # a registered model kind ("mlp", "cnn", ...)
    network: tuple[tuple[str, object], ...]  # the kind's settings (its form's fields), sorted
    train: TrainConfig
    record: RecordConfig
    label: str  # "moons · MLP 8 (relu)" once built; the TOML's `label`, else the dataset and kind

    def model(self, input_shape, n_classes):
        """The network's config for data of this shape (the kind's `make`, as the Train page calls it)."""
        return model_kinds()[self.kind].make(input_shape, n_classes, **dict(self.network))


@dataclass(frozen=True)
class Question:
    """Predict first: pick one of `choices` (the right one is `right`), or set a number in `low..high`."""

    ask: str
    choices: tuple[str, ...] = ()
    right: int | None = None
    low: float = 0.0
    high: float = 100.0
    step: float = 1.0
    unit: str = ""  # shown after the number: "%", " units"
    truth: str | None = None  # the fact the number is compared with
    scale: float = 1.0  # the fact times this is the true number (100 for a share shown in %)
    tolerance: float = 0.0  # a guess this close to the truth counts as right

    @property
    def numeric(self) -> bool:
        return not self.choices


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    page: str  # one of PAGES
    run: str  # the preset whose run this step opens and whose facts its answer reads
    snapshot: int | str = "last"  # where the setup puts the training-time slider: a number, or "last"
    params: tuple[tuple[str, str], ...] = ()  # the page's link parameters (values may hold {facts})
    point: str | None = None  # the point of the layer facts (zeros, dead, units)
    check: object = None  # a name from CHECKS, {param, is} or {run}; None: nothing to check
    question: Question | None = None
    answer: str = ""  # the template shown once the step is done
    line: int | None = None  # where the step starts in its file

    @property
    def asks_slider(self) -> bool:
        """The step's check reads the training-time slider, so its box shows one beside the text."""
        return isinstance(self.check, str) and CHECKS[self.check].slider


@dataclass(frozen=True)
class Lesson:
    name: str  # the file's name without .toml: the address's ?lesson=
    path: str
    title: str
    summary: str
    minutes: int
    presets: dict[str, Preset] = field(hash=False, compare=False)
    steps: tuple[Step, ...] = ()
    sidebar: tuple[str, ...] = CONTROLS  # sidebar controls kept in focus mode


# --- building, with every check ------------------------------------------------------------------------------
Where = Callable[..., int | None]  # where(step=i, table=name, key=k) -> the line, or None


def _words(value) -> str:
    return {
        str: "text",
        bool: "true/false",
        int: "a whole number",
        float: "a number",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


class _Builder:
    def __init__(self, path: str, where: Where):
        self.path, self.where = path, where

    def fail(self, problem: str, **at) -> LessonError:
        return LessonError(self.path, self.where(**at), problem)

    def get(self, t: dict, key: str, kinds: tuple, what: str, *, required: bool = True, default=None, **at):
        if key not in t:
            if required:
                raise self.fail(f"{what} has no {key!r}", **at)
            return default
        value = t[key]
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            want = " or ".join(_words(k()) if k is not dict else "a table" for k in kinds)
            raise self.fail(f"{what}'s {key!r} must be {want}, not {_words(value)}", key=key, **at)
        return value

    def no_unknown(self, t: dict, known: set, what: str, **at) -> None:
        extra = sorted(set(t) - known)
        if extra:
            raise self.fail(
                f"{what} has an unknown field {extra[0]!r} (it may have {', '.join(sorted(known))})", key=extra[0], **at
            )

    def template(self, text: str, presets: dict, what: str, **at) -> None:
        try:
            found = fields(text)
        except TemplateError as e:
            raise self.fail(f"{what}: {e}", **at) from None
        for fact, preset, _ in found:
            if fact not in FACTS:
                raise self.fail(f"{what} uses an unknown fact {{{fact}}} (see the list of facts in the README)", **at)
            if preset is not None and preset not in presets:
                raise self.fail(f"{what} names an unknown preset @{preset}", **at)

    # --- the parts ---------------------------------------------------------------------------------------
    def preset(self, name: str, t) -> Preset:
        at = {"table": f"presets.{name}"}
        what = f"preset {name}"
        if not isinstance(t, dict):
            raise self.fail(f"{what} must be a table", **at)
        self.no_unknown(
            t, {"dataset", "data", "train_subset", "model", "network", "train", "record", "label"}, what, **at
        )
        from ..data import list_datasets

        dataset = self.get(t, "dataset", (str,), what, **at)
        if dataset not in list_datasets():
            raise self.fail(f"{what}'s dataset {dataset!r} is not known here", key="dataset", **at)
        options = self.get(t, "data", (dict,), what, required=False, default={}, **at)
        subset = self.get(t, "train_subset", (int,), what, required=False, **at)
        kind = self.get(t, "model", (str,), what, required=False, default="mlp", **at)
        if kind not in model_kinds():
            raise self.fail(
                f"{what}'s model {kind!r} is not a model kind ({', '.join(model_kinds())})", key="model", **at
            )
        network = self.get(t, "network", (dict,), what, required=False, default={}, **at)
        allowed = {f.name for f in model_kinds()[kind].form}
        self.no_unknown(network, allowed, f"{what}'s network", key="network", **at)
        network = {k: tuple(v) if isinstance(v, list) else v for k, v in network.items()}
        configs = []
        for key, cls in (("train", TrainConfig), ("record", RecordConfig)):
            values = self.get(t, key, (dict,), what, required=False, default={}, **at)
            try:
                configs.append(cls(**values))
            except (TypeError, ValueError) as e:
                raise self.fail(f"{what}'s {key}: {e}", key=key, **at) from None
        try:
            data = DataConfig.make(dataset, train_subset=subset, **options)
        except TypeError as e:
            raise self.fail(f"{what}'s data: {e}", key="data", **at) from None
        label = self.get(t, "label", (str,), what, required=False, default=f"{dataset} · {kind}", **at)
        return Preset(name, data, kind, tuple(sorted(network.items())), *configs, label)

    def question(self, t, presets: dict, i: int) -> Question:
        at = {"step": i, "table": "question"}
        what = f"step {i + 1}'s question"
        if not isinstance(t, dict):
            raise self.fail(f"{what} must be a table", **at)
        known = {"ask", "choices", "right", "low", "high", "step", "unit", "truth", "scale", "tolerance"}
        self.no_unknown(t, known, what, **at)
        ask = self.get(t, "ask", (str,), what, **at)
        choices = self.get(t, "choices", (list,), what, required=False, default=[], **at)
        if choices:
            if len(choices) < 2 or not all(isinstance(c, str) for c in choices):
                raise self.fail(f"{what}'s 'choices' must be two or more texts", key="choices", **at)
            right = self.get(t, "right", (int,), what, **at)
            if not 0 <= right < len(choices):
                raise self.fail(
                    f"{what}'s 'right' must be 0..{len(choices) - 1} (a choice's position)", key="right", **at
                )
            return Question(ask, tuple(choices), right)
        nums = {
            k: float(self.get(t, k, (int, float), what, required=False, default=d, **at))
            for k, d in (("low", 0), ("high", 100), ("step", 1), ("scale", 1), ("tolerance", 0))
        }
        if not nums["low"] < nums["high"] or nums["step"] <= 0:
            raise self.fail(f"{what} needs low < high and a step above 0", key="high", **at)
        truth = self.get(t, "truth", (str,), what, **at)
        if truth not in FACTS:
            raise self.fail(f"{what}'s truth {truth!r} is not a fact (see the README)", key="truth", **at)
        unit = self.get(t, "unit", (str,), what, required=False, default="", **at)
        return Question(
            ask, (), None, nums["low"], nums["high"], nums["step"], unit, truth, nums["scale"], nums["tolerance"]
        )

    def check(self, c, presets: dict, i: int):
        at = {"step": i, "key": "check"}
        what = f"step {i + 1}'s check"
        if isinstance(c, str):
            if c not in CHECKS:
                raise self.fail(f"{what} {c!r} is not a check ({', '.join(CHECKS)}, or a table)", **at)
            return c
        if isinstance(c, dict) and set(c) == {"param", "is"} and isinstance(c["param"], str):
            return {"param": c["param"], "is": str(c["is"])}
        if isinstance(c, dict) and set(c) == {"run"} and c["run"] in presets:
            return {"run": c["run"]}
        raise self.fail(f"{what} must be a check's name, {{ param = ..., is = ... }} or {{ run = <a preset> }}", **at)

    def step(self, t, presets: dict, i: int) -> Step:
        at = {"step": i}
        what = f"step {i + 1}"
        if not isinstance(t, dict):
            raise self.fail(f"{what} must be a table", **at)
        known = {"title", "text", "page", "run", "snapshot", "params", "point", "check", "question", "answer"}
        self.no_unknown(t, known, what, **at)
        title = self.get(t, "title", (str,), what, **at)
        text = self.get(t, "text", (str,), what, **at)
        page = self.get(t, "page", (str,), what, **at)
        if page not in (pages := known_pages()):
            raise self.fail(f"{what}'s page {page!r} is not a page of the app ({', '.join(pages)})", key="page", **at)
        run = self.get(t, "run", (str,), what, required=False, default=next(iter(presets)), **at)
        if run not in presets:
            raise self.fail(f"{what}'s run {run!r} is not one of the lesson's presets", key="run", **at)
        snapshot = self.get(t, "snapshot", (int, str), what, required=False, default="last", **at)
        if isinstance(snapshot, str) and snapshot != "last":
            raise self.fail(f"{what}'s 'snapshot' must be a number or \"last\"", key="snapshot", **at)
        params = self.get(t, "params", (dict,), what, required=False, default={}, **at)
        for k, v in params.items():
            if not isinstance(v, (str, int)) or isinstance(v, bool):
                raise self.fail(f"{what}'s params.{k} must be text or a whole number", key="params", **at)
            self.template(str(v), presets, f"{what}'s params.{k}", step=i, key="params")
        point = self.get(t, "point", (str,), what, required=False, **at)
        check = self.check(t["check"], presets, i) if "check" in t else None
        question = self.question(t["question"], presets, i) if "question" in t else None
        answer = self.get(t, "answer", (str,), what, **at)
        self.template(answer, presets, f"{what}'s answer", step=i, key="answer")
        self.template(text, presets, f"{what}'s text", step=i, key="text")
        params = tuple((k, str(v)) for k, v in params.items())
        return Step(title, text, page, run, snapshot, params, point, check, question, answer, self.where(step=i))

    def lesson(self, name: str, t: dict) -> Lesson:
        self.no_unknown(t, {"title", "summary", "minutes", "presets", "steps", "sidebar"}, "the lesson")
        title = self.get(t, "title", (str,), "the lesson")
        summary = self.get(t, "summary", (str,), "the lesson")
        minutes = self.get(t, "minutes", (int,), "the lesson")
        if not 1 <= minutes <= 60:
            raise self.fail("the lesson's 'minutes' must be 1..60", key="minutes")
        raw = self.get(t, "presets", (dict,), "the lesson")
        if not raw:
            raise self.fail("the lesson has no preset run ([presets.NAME])", key="presets")
        presets = {n: self.preset(n, p) for n, p in raw.items()}
        steps = self.get(t, "steps", (list,), "the lesson")
        if not MIN_STEPS <= len(steps) <= MAX_STEPS:
            raise self.fail(
                f"the lesson has {len(steps)} steps; a lesson has {MIN_STEPS} to {MAX_STEPS}",
                step=min(len(steps), MAX_STEPS + 1) - 1 if steps else None,
            )
        built = tuple(self.step(s, presets, i) for i, s in enumerate(steps))
        sidebar = self.get(t, "sidebar", (list,), "the lesson", required=False, default=list(CONTROLS))
        if not all(c in CONTROLS for c in sidebar):
            raise self.fail(f"the lesson's 'sidebar' may hold only {', '.join(CONTROLS)}", key="sidebar")
        return Lesson(name, self.path, title, summary, minutes, presets, built, tuple(sidebar))


def build(name: str, table: dict, path: str, where: Where) -> Lesson:
    """A parsed TOML table as a `Lesson`; `LessonError` naming the line and field of the first problem."""
    return _Builder(path, where).lesson(name, table)
