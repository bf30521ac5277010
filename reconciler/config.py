"""`reconciler.yaml`: where the task files live, the ownership marker, and the environments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, field_validator

from reconciler import ignore
from reconciler.bounded import TooLarge, read_bounded
from reconciler.errors import ConfigError, Problem, ProblemsFound
from reconciler.model import MARKER, OWNER_HELP, NonEmpty, Strict, check_owner
from reconciler.profile import Profile, merged
from reconciler.yamlsource import MAX_BYTES, YamlError, read_single

CONFIG_NAME = "reconciler.yaml"


def _pointer(text: str) -> str:
    ignore.parse_pointer(text)  # a ValueError says what is wrong; pydantic locates the item
    return text


JsonPointer = Annotated[str, AfterValidator(_pointer)]


class IgnoreDifferences(Strict):
    """Differences that are not changes: JSON pointers into the API document, for some tasks."""

    fields: list[JsonPointer] = Field(
        min_length=1, description="JSON pointers, e.g. /description, /start/schedule/endDateTime"
    )
    tasks: list[NonEmpty] = Field(
        default_factory=lambda: ["*"], description='Task name globs, e.g. "Sales *"; default all.'
    )

    @field_validator("fields", "tasks", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def rule(self) -> ignore.IgnoreRule:
        return ignore.rule(self.fields, self.tasks)


IgnoreList = list[IgnoreDifferences]


class Defaults(Strict):
    """Values for every task of an environment whose file does not set its own."""

    owner: str | None = Field(default=None, description=OWNER_HELP)

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        return check_owner(value)


@dataclass(frozen=True, slots=True)
class DefaultOwner:
    """`defaults: {owner: ...}` of the chosen environment, and where it is written."""

    spec: str
    path: str
    line: int
    column: int


class Environment(Strict):
    tenant: str | None = Field(default=None, description="The tenant URL, https://...")
    vars: dict[str, str] = Field(default_factory=dict, description="Values for ${var.NAME}.")
    ignoreDifferences: IgnoreList = Field(
        default_factory=list, description="Added to the top-level ignoreDifferences."
    )
    profile: Profile | None = Field(
        default=None, description="How this tenant behaves (see `reconciler doctor`)."
    )
    defaults: Defaults = Field(default_factory=Defaults)

    @field_validator("vars", mode="before")
    @classmethod
    def _scalars_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: ("true" if v is True else "false" if v is False else str(v))
                if isinstance(v, int | float | bool)
                else v
                for k, v in value.items()
            }
        return value


class Config(Strict):
    tasks: str = Field(default="tasks/", description="Where task files live.")
    marker: str = Field(default=MARKER, min_length=1, description="The ownership annotation.")
    environments: dict[str, Environment] = Field(default_factory=dict)
    defaultEnvironment: str | None = Field(
        default=None, description="The environment used when --env is not given."
    )
    ignoreDifferences: IgnoreList = Field(
        default_factory=list, description="Differences that are not changes, for every environment."
    )
    profile: Profile | None = Field(
        default=None, description="How every tenant behaves, unless its environment says otherwise."
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """The configuration resolved for one run: tasks directory, marker, environment and its vars."""

    root: Path
    tasks_dir: Path
    marker: str
    environment: str | None
    tenant: str | None
    vars: Mapping[str, str]
    config_path: Path | None
    ignore: tuple[ignore.IgnoreRule, ...] = ()
    profile: Profile = field(default_factory=Profile)
    default_owner: DefaultOwner | None = None


def load_config(path: Path) -> Config:
    """Read a configuration file; a missing file is the default configuration."""
    if not path.exists():
        return Config.model_construct()
    shown = str(path)
    try:
        doc = read_single(shown, read_bounded(path, MAX_BYTES))
    except YamlError as exc:
        raise ProblemsFound([Problem(shown, exc.line, exc.column, exc.message)]) from None
    except TooLarge as exc:
        raise ProblemsFound([Problem(shown, 1, 1, str(exc))]) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {shown}: {exc.strerror}") from None
    if doc is None:
        return Config.model_construct()
    if not isinstance(doc.data, dict):
        raise ProblemsFound(
            [Problem(shown, doc.line, doc.column, "expected a mapping of settings")]
        )
    try:
        return Config.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line, column = doc.where(loc)
            where = ".".join(str(p) for p in loc)
            problems.append(Problem(shown, line, column, f"{where}: {err['msg']}"))
        raise ProblemsFound(problems) from None


def resolve_settings(
    *,
    config_file: Path | None,
    tasks: Path | None,
    env: str | None,
    tenant: str | None,
    environ: Mapping[str, str],
    cwd: Path,
) -> Settings:
    """Combine flags, environment variables and the configuration file, flags first."""
    path = config_file or cwd / CONFIG_NAME
    if config_file is not None and not config_file.exists():
        raise ConfigError(f"configuration file {config_file} does not exist")
    config = load_config(path)
    root = path.parent if path.exists() else cwd
    environment = None
    env = env or config.defaultEnvironment
    if env is not None:
        environment = config.environments.get(env)
        if environment is None:
            known = ", ".join(sorted(config.environments)) or "none are defined"
            raise ConfigError(f"unknown environment `{env}` (known: {known}) in {path}")
    tasks_dir = tasks if tasks is not None else root / config.tasks
    return Settings(
        root=root,
        tasks_dir=tasks_dir,
        marker=config.marker,
        environment=env,
        tenant=tenant
        or environ.get("QLIK_TENANT_URL")
        or (environment.tenant if environment else None),
        vars=dict(environment.vars) if environment else {},
        config_path=path if path.exists() else None,
        ignore=tuple(
            item.rule()
            for item in [
                *config.ignoreDifferences,
                *(environment.ignoreDifferences if environment else []),
            ]
        ),
        profile=merged(config.profile, environment.profile if environment else None),
        default_owner=_default_owner(path, env, environment),
    )


def _default_owner(
    path: Path, env: str | None, environment: Environment | None
) -> DefaultOwner | None:
    """The environment's default owner, located at its line of the configuration file."""
    spec = environment.defaults.owner if environment else None
    if spec is None or env is None:
        return None
    doc = read_single(str(path), read_bounded(path, MAX_BYTES))
    line, column = doc.where(("environments", env, "defaults", "owner")) if doc else (1, 1)
    return DefaultOwner(spec, str(path), line, column)
