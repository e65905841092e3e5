"""A launcher whose extra is missing names the extra and exits 2; other import errors pass."""

from __future__ import annotations

import pytest
from longtask.core import extras


def test_a_missing_library_names_the_extra(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info, extras.needs("the longtask CLI", extras.CLIENT):
        raise ModuleNotFoundError("No module named 'typer'", name="typer.core")
    assert info.value.code == extras.MISSING_EXIT == 2
    err = capsys.readouterr().err
    assert "the longtask CLI needs the client extra (typer is not installed)" in err
    assert "pip install 'longtask[client]'" in err


@pytest.mark.parametrize("name", ["longtask.cli.commands", None])
def test_a_missing_part_of_longtask_is_not_blamed_on_an_extra(name: str | None) -> None:
    with pytest.raises(ModuleNotFoundError), extras.needs("the gateway", extras.GATEWAY):
        raise ModuleNotFoundError("gone", name=name)
