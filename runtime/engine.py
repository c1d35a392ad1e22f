"""Compile, load and run ``pharia:skill`` components with wasmtime.

One :class:`Runtime` per process holds the engine (Cranelift, epoch interruption), the host
linker of every world version (``runtime.worlds``) and an epoch ticker thread. Components are
compiled once at registration (:meth:`Runtime.compile`) and later loaded from their serialized artifact
(:meth:`Runtime.load`, ~0.1 s instead of ~10 s). Every call gets a fresh Store with the run's
time and memory limits, so runs never share state.

Fast tier: ``compile(wasm, fast=True)`` uses wasmtime's Winch baseline compiler (~4x faster to
compile an SDK component, ~1.35x slower to run CPU-bound code), so a new skill serves within
seconds while the caller compiles the Cranelift artifact later and swaps it in. Winch code needs
its own engine and linker; they are created on first fast use. Artifacts only deserialize on the
engine that made them, so each engine has its own artifact key (``Runtime.artifact_key`` for
Cranelift, ``Runtime.fast_artifact_key`` for Winch) and ``load`` picks the engine by key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import platform
import resource
import threading
import time
import weakref
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import wasmtime
from wasmtime import component as wc

from runtime import bytelists, worlds
from runtime.csi import Csi
from runtime.instances import Prepared, Preparer, Spares
from runtime.limits import WASMTIME_MAX_LIST_BYTES, Limits, OutputTooLarge
from runtime.outcome import ErrorKind, RunOutcome
from runtime.worlds import STREAM_WORLD, WorldVersion
from runtime.worlds.common import get

TICK_SECONDS = 0.01
# Time a prepared instance's start functions may take (instantiation runs no skill code).
PREPARE_TIMEOUT_SECONDS = 10.0
# wasmtime_strategy_t (wasmtime/config.h); the Python Config.strategy setter does not know Winch.
_STRATEGY_WINCH = 2
# Winch has backends for these hosts only; elsewhere fast compiles fall back to Cranelift.
_WINCH_MACHINES = frozenset({"x86_64", "amd64", "aarch64", "arm64"})

log = logging.getLogger(__name__)
bytelists.install()  # list<u8> (input, output) copied in one go, not byte by byte in Python


class InvalidComponent(ValueError):
    """The bytes are not a component this kernel can run; the message says why."""


@dataclass(frozen=True)
class SkillMetadata:
    description: str | None
    input_schema: Any
    output_schema: Any


@dataclass
class CompiledSkill:
    world: str
    wit_version: str
    export: str  # the exported interface, e.g. pharia:skill/skill-handler@0.3.11
    artifact: bytes  # serialized machine code, loadable by an engine with the same key
    compile_seconds: float
    artifact_key: str  # key of the engine that made ``artifact``; pass it to Runtime.load


class _Engine:
    """One wasmtime engine (one compiler strategy) and the host linker built for it."""

    def __init__(self, key: str, config: wasmtime.Config, *, fast: bool) -> None:
        self.key = key
        self.fast = fast
        self.engine = wasmtime.Engine(config)
        self.linker = worlds.build_linker(self.engine)

    def __repr__(self) -> str:
        return f"<engine {self.key}>"


@dataclass
class LoadedSkill:
    component: wc.Component
    world: str
    wit_version: str
    export: str
    size: int  # artifact bytes, for cache accounting
    version: WorldVersion
    fast: bool = False  # runs Winch (baseline) code; swap in the Cranelift artifact when it is ready
    tier: _Engine | None = field(default=None, repr=False, compare=False)  # None: Cranelift
    spares: Spares = field(default_factory=Spares, repr=False, compare=False)  # fresh, never-run instances

    @property
    def is_stream(self) -> bool:
        return self.world == STREAM_WORLD


@dataclass(frozen=True)
class EngineSettings:
    opt_level: str = "speed"  # Cranelift: none, speed, speed_and_size
    fast_tier: bool = True  # False: compile(fast=True) compiles with Cranelift (no Winch engine)
    spare_instances: int = 2  # fresh instances kept ready per recently run skill (runtime.instances)
    spare_skills: int = 8  # how many of the most recently run skills keep spares
    pooling: bool = False  # wasmtime's pooling allocator: memory slots reused and kept resident
    pool_instances: int = 100  # pooling: instances alive at once (runs in flight + spares); more wait
    keep_resident_mb: int = 64  # pooling: a slot's first MiB are reset by copying, not unmapped
    warm_slots: int = 16  # pooling: unused slots that keep their pages resident for the next run

    def key(self) -> str:
        """The Cranelift engine's part of the artifact key (unchanged since before the fast tier)."""
        return f"opt={self.opt_level}"

    def fast_key(self) -> str:
        """The Winch engine's part; Winch has no optimisation levels."""
        return "winch"


def wasmtime_version() -> str:
    return metadata.version("wasmtime")


class Runtime:
    """The process-wide wasm engine. Thread-safe: runs may execute on many threads at once."""

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self._cranelift = self._serving_engine()
        self.engine = self._cranelift.engine
        self.linker = self._cranelift.linker
        self._winch: _Engine | None = None
        self._background: _Engine | None = None  # compile-only; never ticked, never runs code
        self._winch_lock = threading.Lock()
        self._engines: tuple[_Engine, ...] = (self._cranelift,)  # what the ticker ticks
        self._ticker_started = False
        self._ticker_lock = threading.Lock()
        # Pooling has a fixed number of slots; a run beyond them waits for one instead of trapping.
        self._slots = (
            threading.BoundedSemaphore(self.settings.pool_instances) if self.settings.pooling else None
        )
        self.preparer = Preparer(
            self._prepare_ahead,
            per_skill=self.settings.spare_instances,
            max_skills=self.settings.spare_skills,
        )

    def _serving_engine(self) -> _Engine:
        """The Cranelift engine runs execute on; pooled unless the host refuses the address space."""
        config = self._cranelift_config()
        if self.settings.pooling and not _address_space_for_pool(self.settings):
            log.warning(
                "the address-space limit (ulimit -v) is below what %d pooled instances reserve; "
                "using wasmtime's on-demand allocator (lower SKILL_POOL_INSTANCES to pool)",
                self.settings.pool_instances,
            )
            self.settings = dataclasses.replace(self.settings, pooling=False)
        if self.settings.pooling:
            _use_pooling(config, self.settings)
        return _Engine(self.artifact_key, config, fast=False)

    def _cranelift_config(self) -> wasmtime.Config:
        config = wasmtime.Config()
        config.epoch_interruption = True
        config.cranelift_opt_level = self.settings.opt_level
        return config

    @property
    def artifact_key(self) -> str:
        """Serialized artifacts are only valid for the same wasmtime version and engine settings."""
        return f"wasmtime-{wasmtime_version()}-{self.settings.key()}"

    @property
    def fast_artifact_key(self) -> str:
        """The key of artifacts compiled by the fast (Winch) tier."""
        return f"wasmtime-{wasmtime_version()}-{self.settings.fast_key()}"

    def is_fast_key(self, key: str) -> bool:
        """Whether ``key`` names Winch artifacts (to be replaced by a Cranelift compile)."""
        return key == self.fast_artifact_key

    @property
    def fast_tier_available(self) -> bool:
        """Whether ``compile(fast=True)`` can use Winch on this host with these settings."""
        return self.settings.fast_tier and platform.machine().lower() in _WINCH_MACHINES

    def _fast_engine(self) -> _Engine:
        """The Winch engine, created on first use.

        Its config must only enable features Winch supports: wasmtime *aborts the process* (a
        panic in ``wasm_engine_new_with_config``) on e.g. ``wasm_gc`` or
        ``wasm_function_references``, so this config is the default plus epoch interruption.
        """
        if self._winch is not None:
            return self._winch
        with self._winch_lock:
            if self._winch is None:
                config = wasmtime.Config()
                config.epoch_interruption = True
                wasmtime._ffi.wasmtime_config_strategy_set(config.ptr(), _STRATEGY_WINCH)
                self._winch = _Engine(self.fast_artifact_key, config, fast=True)
                self._engines = (*self._engines, self._winch)
            return self._winch

    def _engine_for(self, artifact_key: str | None) -> _Engine:
        if artifact_key is None or artifact_key == self.artifact_key:
            return self._cranelift
        if self.is_fast_key(artifact_key):
            return self._fast_engine()
        raise ValueError(
            f"artifact key {artifact_key!r} is neither {self.artifact_key!r} nor "
            f"{self.fast_artifact_key!r}; recompile the component for this kernel"
        )

    def _ensure_ticker(self) -> None:
        # Started lazily so a forked worker process gets its own thread.
        with self._ticker_lock:
            if self._ticker_started:
                return
            thread = threading.Thread(target=self._tick, name="wasm-epoch-ticker", daemon=True)
            thread.start()
            self._ticker_started = True

    def _tick(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            for engine in self._engines:  # a tuple, replaced (not mutated) when Winch is added
                engine.engine.increment_epoch()

    # -- compile and load --------------------------------------------------------------------

    def inspect(
        self, component: wc.Component, engine: wasmtime.Engine | None = None
    ) -> tuple[str, str, str, WorldVersion]:
        """Return (world, wit_version, export name, world version), or raise InvalidComponent."""
        try:
            return worlds.resolve(list(component.type.exports(engine or self.engine)))
        except worlds.UnsupportedWorld as error:
            raise InvalidComponent(str(error)) from None

    def compile(self, wasm: bytes, *, fast: bool = False, background: bool = False) -> CompiledSkill:
        """Validate and compile a component once; raises InvalidComponent with a clear reason.

        ``background=True`` (a Cranelift compile nobody waits for) compiles on one thread instead
        of all cores, so the runs being served keep the others; the artifact is the same kind.

        ``fast=True`` compiles with Winch. If Winch cannot compile the component (e.g. a feature
        it lacks), Cranelift compiles it instead and ``artifact_key`` says so; whether a component
        is invalid is always Cranelift's verdict, so both tiers accept and reject the same bytes.
        """
        if wasm[:4] != b"\0asm":
            raise InvalidComponent("the file is not WebAssembly (it does not start with \\0asm)")
        started = time.perf_counter()
        if fast and self.fast_tier_available:
            engine = self._fast_engine()
            try:
                component = self._compile_winch(engine, wasm)
            except wasmtime.WasmtimeError as error:
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                log.info("Winch could not compile the component (%s); compiling with Cranelift", reason)
            else:
                return self._compiled(component, engine, started)
        engine = self._background_engine() if background and not fast else self._cranelift
        try:
            component = wc.Component(engine.engine, wasm)
        except wasmtime.WasmtimeError as error:
            reason = str(error).splitlines()[0]
            if "component" in reason.lower() or "module" in reason.lower():
                raise InvalidComponent(f"the file is not a WebAssembly component: {reason}") from None
            raise InvalidComponent(f"the component does not compile: {reason}") from None
        return self._compiled(component, engine, started)

    def _background_engine(self) -> _Engine:
        """A Cranelift engine like the serving one but compiling on a single thread."""
        with self._winch_lock:
            if self._background is None:
                config = wasmtime.Config()
                config.epoch_interruption = True
                config.cranelift_opt_level = self.settings.opt_level
                config.parallel_compilation = False
                self._background = _Engine(self.artifact_key, config, fast=False)
            return self._background

    @staticmethod
    def _compile_winch(engine: _Engine, wasm: bytes) -> wc.Component:
        return wc.Component(engine.engine, wasm)

    def _compiled(self, component: wc.Component, engine: _Engine, started: float) -> CompiledSkill:
        world, version, export, _ = self.inspect(component, engine.engine)
        artifact = bytes(component.serialize())
        seconds = time.perf_counter() - started
        return CompiledSkill(world, version, export, artifact, seconds, artifact_key=engine.key)

    def load(self, artifact: bytes, artifact_key: str | None = None) -> LoadedSkill:
        """Deserialize an artifact on the engine of ``artifact_key`` (None: the Cranelift engine).

        Raises ValueError for a key of no engine of this runtime, and ``wasmtime.WasmtimeError``
        if the artifact was not made by that engine (e.g. a Winch artifact with the Cranelift key).
        """
        engine = self._engine_for(artifact_key)
        try:
            component = wc.Component.deserialize(engine.engine, artifact)
        except wasmtime.WasmtimeError as error:
            raise wasmtime.WasmtimeError(
                f"the artifact cannot be loaded as {engine.key}: {str(error).strip()}"
            ) from None
        world, version, export, world_version = self.inspect(component, engine.engine)
        return LoadedSkill(
            component, world, version, export, len(artifact), world_version, fast=engine.fast, tier=engine
        )

    # -- call --------------------------------------------------------------------------------

    def _prepare(self, skill: LoadedSkill, memory_bytes: int, *, wait: bool = True) -> Prepared:
        """A fresh store (no preopened dirs, no env, no network) and instance of ``skill``."""
        self._ensure_ticker()
        engine = skill.tier or self._cranelift
        store = wasmtime.Store(engine.engine)
        if engine is self._cranelift and self._slots is not None:
            self._take_slot(store, wait)
        store.set_wasi(wasmtime.WasiConfig())
        store.set_limits(memory_size=memory_bytes)
        store.set_epoch_deadline(int(PREPARE_TIMEOUT_SECONDS / TICK_SECONDS))
        instance = engine.linker.instantiate(store, skill.component)
        return Prepared(store, instance, memory_bytes)

    def _prepare_ahead(self, skill: LoadedSkill, memory_bytes: int) -> Prepared:
        """A spare: never waits for a pool slot (the preparer also drops the stores that free them)."""
        return self._prepare(skill, memory_bytes, wait=False)

    def _take_slot(self, store: wasmtime.Store, wait: bool) -> None:
        """Take a free pool slot (waiting if ``wait``); it is given back when ``store`` is deleted."""
        if not self._slots.acquire(timeout=PREPARE_TIMEOUT_SECONDS if wait else 0):
            if not wait:
                raise wasmtime.WasmtimeError("no free instance slot for a spare")
            raise wasmtime.WasmtimeError(
                f"all {self.settings.pool_instances} instance slots stayed busy for "
                f"{PREPARE_TIMEOUT_SECONDS:g} s (raise SKILL_POOL_INSTANCES)"
            )
        weakref.finalize(store, self._slots.release)

    def _instantiate(self, skill: LoadedSkill, limits: Limits) -> Prepared:
        """A never-used instance for one run: a spare made ahead if there is one, else made now."""
        prepared = skill.spares.take(limits.memory_bytes) or self._prepare(skill, limits.memory_bytes)
        self.preparer.wanted(skill, limits.memory_bytes)
        prepared.store.set_epoch_deadline(max(1, int(limits.timeout / TICK_SECONDS)))  # the run's clock
        return prepared

    def _func(self, skill: LoadedSkill, store: wasmtime.Store, instance: Any, name: str) -> Any:
        interface = skill.component.get_export_index(skill.export)
        index = skill.component.get_export_index(name, interface)
        if index is None:
            raise InvalidComponent(f"{skill.export} has no function {name}")
        return instance.get_func(store, index)

    def metadata(self, skill: LoadedSkill, limits: Limits | None = None) -> SkillMetadata:
        """Description and schemas; message-stream skills and 0.2 skills have no metadata export."""
        if skill.is_stream or not skill.version.has_metadata:
            return SkillMetadata(None, None, None)
        limits = limits or Limits(timeout=10)
        prepared = self._prepare(skill, limits.memory_bytes)  # a one-off: no spares for it
        store = prepared.store
        store.set_epoch_deadline(max(1, int(limits.timeout / TICK_SECONDS)))
        with worlds.bind(worlds.RunContext(csi=Csi())):
            func = self._func(skill, store, prepared.instance, "metadata")
            value = func(store)
            func.post_return(store)
        return SkillMetadata(
            description=(value.description or "").strip() or None,
            input_schema=_json_or_none(get(value, "input_schema")),
            output_schema=_json_or_none(get(value, "output_schema")),
        )

    def run(self, skill: LoadedSkill, input: bytes, csi: Csi, limits: Limits) -> RunOutcome:
        """Run a ``skill`` world component: output bytes or a classified error."""
        return self._call(skill, input, csi, limits, on_item=None)

    def stream(self, skill: LoadedSkill, input: bytes, csi: Csi, limits: Limits, on_item: Any) -> RunOutcome:
        """Run a ``message-stream-skill``; ``on_item`` receives each message item as it is written."""
        return self._call(skill, input, csi, limits, on_item=on_item)

    def _call(self, skill: LoadedSkill, input: bytes, csi: Csi, limits: Limits, on_item: Any) -> RunOutcome:
        outcome = RunOutcome()
        items: list[dict[str, Any]] = []
        budget = _StreamBudget(limits)

        def collect(item: dict[str, Any]) -> None:
            budget.admit(item)  # raises OutputTooLarge: the run keeps the items before this one
            items.append(item)
            if on_item is not None:
                on_item(item)

        context = worlds.RunContext(csi=csi, on_item=collect if skill.is_stream else None)
        used: list[Any] = []  # the run's store and instance, dropped on the preparer's thread
        started = time.perf_counter()
        try:
            result = self._invoke(skill, input, limits, context, used)
            if isinstance(result, wc.Variant):
                outcome.error_kind, outcome.error_message = _skill_error(result, limits)
            elif (
                isinstance(result, bytes)
                and limits.max_output_bytes
                and len(result) > limits.max_output_bytes
            ):
                outcome.error_kind = ErrorKind.OUTPUT_TOO_LARGE
                outcome.error_message = (
                    f"the skill's output is {len(result)} bytes; the limit is {limits.max_output_bytes} bytes"
                )
            else:
                outcome.output = result if isinstance(result, bytes) else None
        except wasmtime.WasmtimeError as error:
            outcome.error_kind, outcome.error_message = _classify(error, context, limits)
        finally:
            outcome.duration = time.perf_counter() - started
            outcome.items = items
            if used:
                self.preparer.retire(used)
        return outcome

    def _invoke(
        self, skill: LoadedSkill, input: bytes, limits: Limits, context: worlds.RunContext, used: list[Any]
    ) -> Any:
        """Call ``run`` on a fresh instance; ``used`` gets the store and instance, and once this
        returns holds the only references to them."""
        prepared = self._instantiate(skill, limits)
        store = prepared.store
        used += [prepared.store, prepared.instance]
        with worlds.bind(context):
            func = self._func(skill, store, prepared.instance, "run")
            if skill.is_stream:
                result = func(store, input, worlds.stream_output(skill.version))
            else:
                result = func(store, input)
            func.post_return(store)
        return result


# Address space one pooled instance reserves: 2 memory slots of 4 GiB plus guard pages, and tables.
_POOL_BYTES_PER_INSTANCE = 9 << 30


def _address_space_for_pool(settings: EngineSettings) -> bool:
    """Whether the process may reserve the pool (wasmtime aborts the process if it cannot)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return True
    return settings.pool_instances * _POOL_BYTES_PER_INSTANCE < soft // 2


def _use_pooling(config: wasmtime.Config, settings: EngineSettings) -> None:
    """Switch ``config`` to the pooling allocator (wasmtime's C API; wasmtime-py has no wrapper)."""
    ffi = wasmtime._ffi
    pool = ffi.wasmtime_pooling_allocation_config_new()
    instances = settings.pool_instances
    ffi.wasmtime_pooling_allocation_config_total_component_instances_set(pool, instances)
    # an SDK component instantiates ~10 core modules with a few memories and tables between them
    # An SDK component instantiates 16 core modules with 1 memory and 2 tables between them; room
    # for twice that. Each memory slot reserves 4 GiB of address space (no memory), the wasm32 most.
    ffi.wasmtime_pooling_allocation_config_total_core_instances_set(pool, instances * 32)
    ffi.wasmtime_pooling_allocation_config_total_memories_set(pool, instances * 2)
    ffi.wasmtime_pooling_allocation_config_total_tables_set(pool, instances * 4)
    ffi.wasmtime_pooling_allocation_config_max_memory_size_set(pool, 4 << 30)  # Limits caps each run
    keep = settings.keep_resident_mb << 20
    ffi.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, keep)
    ffi.wasmtime_pooling_allocation_config_table_keep_resident_set(pool, 1 << 20)
    ffi.wasmtime_pooling_allocation_config_max_unused_warm_slots_set(pool, settings.warm_slots)
    ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pool)
    ffi.wasmtime_pooling_allocation_config_delete(pool)


class _StreamBudget:
    """Counts a message stream's items and their size as stored (JSON) against the run's limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.items = 0
        self.bytes = 0

    def admit(self, item: dict[str, Any]) -> None:
        limits = self.limits
        if limits.max_stream_items and self.items >= limits.max_stream_items:
            raise OutputTooLarge(
                f"the skill wrote more than {limits.max_stream_items} stream items, the limit per run"
            )
        size = len(json.dumps(item)) if limits.max_stream_bytes else 0
        if limits.max_stream_bytes and self.bytes + size > limits.max_stream_bytes:
            raise OutputTooLarge(
                f"the skill's stream items passed {limits.max_stream_bytes} bytes (as JSON), "
                "the limit per run"
            )
        self.items += 1
        self.bytes += size


def _json_or_none(raw: bytes | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _memory_message(limits: Limits) -> str:
    return f"the skill exceeded its memory limit of {limits.memory_bytes // (1024 * 1024)} MiB"


def _skill_error(error: wc.Variant, limits: Limits) -> tuple[ErrorKind, str]:
    """The skill's own error. Python skills report a failed allocation as ``MemoryError``."""
    message = str(error.payload)
    if error.tag == "invalid-input":
        return ErrorKind.INVALID_INPUT, message
    if message.rstrip().splitlines()[-1:] == ["MemoryError"]:
        return ErrorKind.MEMORY_EXHAUSTED, _memory_message(limits)
    return ErrorKind.INTERNAL, message


def _classify(
    error: wasmtime.WasmtimeError, context: worlds.RunContext, limits: Limits
) -> tuple[ErrorKind, str]:
    text = str(error)
    if context.limit_error is not None:
        return ErrorKind.OUTPUT_TOO_LARGE, str(context.limit_error)
    if context.csi_error is not None:
        return ErrorKind.CSI_ERROR, _csi_message(context.csi_error)
    if _HOSTCALL_FUEL in text:
        return ErrorKind.OUTPUT_TOO_LARGE, _copy_limit_message(limits)
    if "interrupt" in text:
        return ErrorKind.TIMEOUT, f"the skill exceeded its time limit of {limits.timeout:g} s"
    if _looks_like_oom(text):
        return ErrorKind.MEMORY_EXHAUSTED, _memory_message(limits)
    return ErrorKind.TRAP, _trap_message(text)


# wasmtime's error when a skill hands the host more lifted values in one call than it allows.
_HOSTCALL_FUEL = "fuel allocated for hostcalls has been exhausted"


def _copy_limit_message(limits: Limits) -> str:
    """What to say when wasmtime refused to copy a value out of the skill: almost always the output
    (over the limit, if the limit is below what wasmtime can copy), else a stream item's payload or
    a tool call's arguments."""
    ceiling = WASMTIME_MAX_LIST_BYTES
    if limits.max_output_bytes and limits.max_output_bytes < ceiling:
        return (
            f"the skill's output is larger than the limit of {limits.max_output_bytes} bytes "
            f"(wasmtime copied none of it: over {ceiling} bytes in one value)"
        )
    return (
        f"the skill handed the host a value of more than {ceiling} bytes (its output, a stream "
        "item's payload or a tool call's arguments): more than wasmtime copies out of a skill in one call"
    )


def _csi_message(error: BaseException) -> str:
    """The CSI error's message, then its specifics (e.g. which model was not found) if it has any."""
    detail = getattr(error, "detail", "")
    return f"{error} ({detail})" if detail else str(error)


def _looks_like_oom(text: str) -> bool:
    lowered = text.lower()
    return any(
        marker in lowered
        for marker in (
            "memory allocation",
            "out of memory",
            "memoryerror",
            "memory limit",
            "capacity overflow",
        )
    )


def _trap_message(text: str) -> str:
    """The cause first (what a reader needs), then wasmtime's backtrace for the skill author."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "Caused by:" in lines:
        cause = " ".join(lines[lines.index("Caused by:") + 1 :])
    else:
        cause = next(
            (line for line in lines if line.startswith("wasm trap")), lines[0] if lines else "unknown"
        )
    return f"the skill trapped: {cause}\n\n{text}"


def digest(wasm: bytes) -> str:
    return hashlib.sha256(wasm).hexdigest()
