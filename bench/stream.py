"""Benchmark streamed chat parsing: openclaw's parser vs the openai SDK vs a bare httpx2 loop.

A loopback HTTP server (a separate process, so it does not share our GIL) answers every POST
with the same pre-built SSE body of N chat-completion chunks (llama-server shape, one HTTP
chunk per event, then a usage chunk and ``[DONE]``), written as fast as the socket takes it.
Three clients read it in this process:

* ``openclaw``  - ``openclaw.llm.openai_completions.stream_chat`` (guarded client, events)
* ``openai``    - the ``openai`` SDK, ``stream=True``, with its own default HTTP client
                  (exempt from the single-client rule: it measures a third party)
* ``bare``      - ``httpx2.AsyncClient`` + ``httpx2.EventSource`` + ``json.loads`` per event

    python bench/stream.py [--chunks 20000] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MODEL = "bench-model"


def build_body(chunks: int) -> bytes:
    parts: list[bytes] = []

    def event(obj: dict[str, Any]) -> None:
        data = b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
        parts.append(b"%x\r\n%s\r\n" % (len(data), data))

    base = {
        "created": 1796003311,
        "id": "chatcmpl-R4QYQbUG7jGF74IwLwrZODzdTPMaEPNF",
        "model": MODEL,
        "system_fingerprint": "b0-unknown",
        "object": "chat.completion.chunk",
    }
    for i in range(chunks):
        delta = {"content": f" tok{i % 100}"}
        event({"choices": [{"finish_reason": None, "index": 0, "delta": delta}], **base})
    event({"choices": [{"finish_reason": "stop", "index": 0, "delta": {}}], **base})
    usage = {"completion_tokens": chunks, "prompt_tokens": 10, "total_tokens": chunks + 10}
    event({"choices": [], **base, "usage": usage})
    done = b"data: [DONE]\n\n"
    parts.append(b"%x\r\n%s\r\n" % (len(done), done))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def serve(port_queue: Any, chunks: int) -> None:
    body = build_body(chunks)
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port_queue.put(sock.getsockname()[1])
    while True:
        conn, _ = sock.accept()
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        break
                    data += more
                header, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in header.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                while len(rest) < length:
                    more = conn.recv(65536)
                    if not more:
                        break
                    rest += more
                conn.sendall(head + body)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                continue


async def run_openclaw(base_url: str) -> int:
    from openclaw.config.settings import ModelSettings
    from openclaw.llm.compat import resolve_compat
    from openclaw.llm.openai_completions import stream_chat
    from openclaw.llm.types import ChatOptions, Context, ModelSpec, TextDeltaEvent, UserMessage
    from openclaw.net.policy import provider_policy

    row = {"id": MODEL}
    pc = {"baseUrl": base_url}
    spec = ModelSpec(
        provider_id="bench",
        model_id=MODEL,
        wire_model_id=MODEL,
        api="openai-completions",
        base_url=base_url,
        model=ModelSettings.read(row, pc),
        compat=resolve_compat("bench", pc, row),
        api_key=None,
        credential_source="none",
        headers={},
        timeout_seconds=60,
        policy=provider_policy("bench", base_url, None),
    )
    count = 0
    ctx = Context(messages=[UserMessage("hi")])
    async for event in stream_chat(spec, ctx, ChatOptions()):
        if type(event) is TextDeltaEvent:
            count += 1
        elif event.type == "error":
            raise RuntimeError(event.error)  # type: ignore[union-attr]
    return count


async def run_openai(base_url: str) -> int:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    count = 0
    try:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                count += 1
    finally:
        await client.close()
    return count


async def run_bare(base_url: str) -> int:
    import httpx2

    count = 0
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with (
        httpx2.AsyncClient(timeout=60) as client,
        client.stream("POST", base_url + "/chat/completions", json=body) as response,
    ):
        async for sse in httpx2.EventSource(response):
            if sse.data == "[DONE]":
                break
            obj = json.loads(sse.data)
            if obj["choices"] and obj["choices"][0]["delta"].get("content"):
                count += 1
    return count


RUNNERS = {"openclaw": run_openclaw, "openai": run_openai, "bare": run_bare}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3, help="best of N per client")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)

    ctx = multiprocessing.get_context("spawn")
    ports: Any = ctx.Queue()
    server = ctx.Process(target=serve, args=(ports, args.chunks), daemon=True)
    server.start()
    try:
        base_url = f"http://127.0.0.1:{ports.get(timeout=30)}/v1"
        rates: dict[str, float] = {}
        for name, runner in RUNNERS.items():
            asyncio.run(runner(base_url))  # warm-up (imports, connection set-up)
            best = 0.0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                count = asyncio.run(runner(base_url))
                elapsed = time.perf_counter() - t0
                if count != args.chunks:
                    raise SystemExit(f"{name}: read {count} chunks, expected {args.chunks}")
                best = max(best, count / elapsed)
            rates[name] = best
    finally:
        server.terminate()
        server.join(5)

    result = {
        "chunks": args.chunks,
        "chunks_per_second": {k: round(v) for k, v in rates.items()},
        "openclaw_vs_openai": round(rates["openclaw"] / rates["openai"], 2),
        "openclaw_vs_bare": round(rates["openclaw"] / rates["bare"], 2),
        "targets": {"vs_openai": ">= 2.0", "vs_bare": ">= 0.9"},
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, rate in rates.items():
            print(f"{name:9s} {rate:12,.0f} chunks/s")
        print(f"openclaw / openai  {result['openclaw_vs_openai']}x   (target >= 2.0)")
        print(f"openclaw / bare    {result['openclaw_vs_bare']}x   (target >= 0.9)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
