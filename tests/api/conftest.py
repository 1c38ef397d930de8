"""Fixtures of the API / CLI twin tests: a command's JSON document from the CLI and from the API result."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from iclcheck.cli import main
from iclcheck.cli.formatting import dump_json, json_envelope


@pytest.fixture
def cli_json(capsys: Any) -> Callable[..., dict[str, Any]]:
    """``cli_json(command, *flags)``: the command's JSON document (``--format json`` appended)."""

    def run(*argv: str) -> dict[str, Any]:
        capsys.readouterr()
        assert main([*argv, "--format", "json"]) == 0
        return json.loads(capsys.readouterr().out)

    return run


@pytest.fixture
def api_json() -> Callable[..., dict[str, Any]]:
    """``api_json(command, result, setting=..., **flags)``: ``result.to_dict()`` in the CLI's envelope, written and
    read back as the CLI writes it (``flags``: the parsed flags the envelope reads, cov and task_cov)."""

    def render(command: str, result: Any, *, setting: Any = None, **flags: Any) -> dict[str, Any]:
        buf = io.StringIO()
        dump_json(json_envelope(command, result.to_dict(), setting=setting, args=argparse.Namespace(**flags)),
                  file=buf)
        return json.loads(buf.getvalue())

    return render
