"""An OpenAI-compatible stream that ends without a finish reason was cut off."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from hookswarm.lib.swarm.chat import CUT_OFF, EndpointFailed, stream_answer
from hookswarm.lib.swarm.wire import OpenAIWire

OPENAI = OpenAIWire()


def _sse_stream(*events: str) -> Any:
    body = "".join(f"data: {e}\n\n" for e in events).encode()
    return httpx.AsyncClient(transport=httpx.MockTransport(
        lambda _request: httpx.Response(200, content=body)))


CHUNK = '{"choices": [{"delta": {"content": "1 2"}, "finish_reason": %s}]}'


@pytest.mark.parametrize(("events", "ok"), [
    ([CHUNK % "null", CHUNK % '"stop"', "[DONE]"], True),
    ([CHUNK % '"length"', "[DONE]"], True),
    ([CHUNK % "null", "[DONE]"], False),
    ([CHUNK % "null"], False),
])
def test_an_openai_stream_without_a_finish_reason_was_cut_off(events: list[str],
                                                              ok: bool) -> None:
    async def ask() -> str:
        async with _sse_stream(*events) as client:
            answer = await stream_answer(client, OPENAI, "http://h/v1/chat/completions", {},
                                         lambda _chunk: None)
        return answer.text

    if ok:
        assert anyio.run(ask).startswith("1 2")
    else:
        with pytest.raises(EndpointFailed) as failed:
            anyio.run(ask)
        assert str(failed.value) in (CUT_OFF, "the stream ended before the answer was complete")
