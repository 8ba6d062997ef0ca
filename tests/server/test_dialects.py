"""Issue 15 item 2: dialects register themselves. `sandex.protocols.DIALECTS` lists them; each
one's `limits.py` declares its config section and its `routes.py` its registration; the server,
the config loader and the CLI iterate them and name none."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from sandex.config import Config, Limits, LimitsConfig
from sandex.config.errors import explain
from sandex.config.schema import config_type
from sandex.protocols import DIALECTS, limits_sections, registrations
from sandex.protocols.dbot.limits import DBOT_PROFILES, DbotLimits, DbotLimitsConfig
from sandex.protocols.limits import LimitsSection

SRC = Path(__file__).resolve().parents[2] / "src" / "sandex"


def test_every_listed_dialect_registers_itself_with_its_own_limits_section() -> None:
    assert [d.name for d in registrations()] == list(DIALECTS)
    assert [s.name for s in limits_sections()] == list(DIALECTS)
    for dialect in registrations():
        section = importlib.import_module(f"sandex.protocols.{dialect.name}.limits").SECTION
        assert dialect.limits is section
        assert set(section.profiles) == {"strict", "relaxed"}
        assert dialect.banner_lines("http://h:1", "ws://h:1"), dialect.name
        assert 1000 <= dialect.blocked_close_code <= 4999


def test_the_config_composes_each_dialects_section() -> None:
    assert LimitsConfig.__struct_fields__ == (*DIALECTS, "session")
    assert Limits.__struct_fields__ == (*DIALECTS, "session")
    limits = Config().resolved_limits()
    for section in limits_sections():
        assert getattr(limits, section.name) == section.profiles[section.config().profile]  # type: ignore[attr-defined]


def test_a_dialects_limits_import_first_and_without_io() -> None:
    for name in DIALECTS:
        code = (
            f"import sys; import sandex.protocols.{name}.limits; import sandex.config; "
            "assert 'aiohttp' not in sys.modules, 'aiohttp imported'"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


def test_server_config_and_cli_name_no_dialect() -> None:
    files = [SRC / "server" / "app.py", *(SRC / "config").rglob("*.py"), *(SRC / "cli").rglob("*.py")]
    pattern = re.compile("|".join(DIALECTS), re.IGNORECASE)
    named = {str(f.relative_to(SRC)): pattern.findall(f.read_text()) for f in files}
    assert {f: n for f, n in named.items() if n} == {}


class _DemoSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    chains: tuple[str, ...] = ("solana",)


def test_a_dialects_own_table_is_composed_into_the_config_and_errors_name_its_key() -> None:
    """A dialect with settings that are not limits (DBot's chains) gets its `[<name>]` table."""
    demo = LimitsSection("demo", DbotLimitsConfig, DbotLimits, DBOT_PROFILES, settings=_DemoSettings)
    composed = config_type([demo])
    assert composed.__struct_fields__[-1] == "demo"
    assert msgspec.convert({}, composed).demo == _DemoSettings()  # type: ignore[attr-defined]
    assert msgspec.convert({"demo": {"chains": ["base"]}}, composed).demo.chains == ("base",)  # type: ignore[attr-defined]
    for raw, key in (({"demo": {"chian": []}}, "demo.chian"), ({"demo": {"chains": [1]}}, "demo.chains[0]")):
        with pytest.raises(msgspec.ValidationError) as failed:
            msgspec.convert(raw, composed)
        assert explain(str(failed.value), raw, composed)[0] == key
