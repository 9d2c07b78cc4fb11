"""The façade's return types, as mypy sees them: ``as_frame=True`` is a DataFrame, the default
a dict of tagged dicts (``mypy tests`` checks the ``assert_type`` lines; at run time they are
no-ops, and the test below runs the same calls)."""

from __future__ import annotations

import asyncio
from typing import Any, assert_type

import pandas as pd

from resilient_provider import ResilientProvider
from resilient_provider.testing import ScriptedProvider
from tests.conftest import MakeFacade


def typed_calls(facade: ResilientProvider, flag: bool) -> None:
    """The sync overloads; mypy fails on any line whose type is not the one asserted."""
    assert_type(facade.batch_get_ticker_info(["A"], as_frame=True), pd.DataFrame)
    assert_type(facade.batch_get_ticker_info(["A"]), dict[str, dict[str, Any]])
    assert_type(facade.batch_get_ticker_info(["A"], as_frame=False), dict[str, dict[str, Any]])
    assert_type(facade.batch_get_ticker_info(["A"], as_frame=flag),
                dict[str, dict[str, Any]] | pd.DataFrame)


async def typed_async_calls(facade: ResilientProvider) -> None:
    """The async twins' overloads."""
    assert_type(await facade.abatch_get_ticker_info(["A"], as_frame=True), pd.DataFrame)
    assert_type(await facade.abatch_get_ticker_info(["A"]), dict[str, dict[str, Any]])


def test_the_typed_calls_return_what_their_types_say(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("one"))
    typed_calls(facade, True)
    asyncio.run(typed_async_calls(facade))
    assert isinstance(facade.batch_get_ticker_info(["A"], as_frame=True), pd.DataFrame)
    assert isinstance(facade.batch_get_ticker_info(["A"]), dict)
