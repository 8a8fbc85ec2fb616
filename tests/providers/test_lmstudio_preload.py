"""Preload through the native load API (lmstudio.md §5; §10 items 30-53, 150, 154, 155,
163, 173, 174) against the fake LM Studio."""

from __future__ import annotations

import json
import math

import anyio
import pytest
from tests.providers.lmstudio_helpers import Clock, inst, llm
from tests.servers.fake_lmstudio import FakeLMStudio

from openclaw.errors import OpenClawError
from openclaw.providers.lmstudio import preload
from openclaw.providers.lmstudio.preload import (
    LmstudioLoadError,
    PreloadResult,
    RequiredContextError,
    prepare_model,
)

KEY = "qwen3-8b-instruct"


def run(coro_fn, *args, **kwargs):
    return anyio.run(lambda: coro_fn(*args, **kwargs))


def loads(fake: FakeLMStudio) -> list[dict]:
    return [r.json for r in fake.requests if r.path == "/api/v1/models/load"]


@pytest.mark.parametrize(
    ("max_ctx", "instances", "requested", "expected_load"),
    [
        (None, [inst(KEY, 64000)], None, None),  # item 30: skip, one call
        # items 31 and 34, deliberately changed: with no configured context a running
        # instance is used as it is (the reference loads a second copy at the maximum).
        (262144, [inst(KEY, 4096)], None, None),  # item 31
        (32768, [inst(KEY, 4096)], 8192, 8192),  # item 32
        (262144, [inst(KEY, 4096)], 65536, 65536),  # item 33
        (32768, [inst(KEY, 4096)], None, None),  # item 34
        (262144, [], None, 64000),  # not loaded, nothing configured: 64000, not the maximum
        (32768.5, [inst(KEY, 4096.5)], 8192.5, 64000),  # item 35
        (32768, [], 8192, 8192),  # item 36
        (32768, [], None, 32768),
        (None, [], None, 64000),
    ],
)
def test_target_context_table(
    fake_lmstudio: FakeLMStudio, max_ctx, instances, requested, expected_load
) -> None:
    """§5.3 table / §10 items 30-36."""
    fake_lmstudio.enforce_context = False
    fake_lmstudio.set_models([llm(KEY, max_ctx=max_ctx, instances=instances)])
    result = run(prepare_model, fake_lmstudio.base_url, KEY, requested_context=requested)
    assert result.model_key == KEY
    if expected_load is None:
        assert fake_lmstudio.paths() == ["GET /api/v1/models"]
        assert result.loaded_now is False
    else:
        assert fake_lmstudio.paths() == ["GET /api/v1/models", "POST /api/v1/models/load"]
        assert loads(fake_lmstudio) == [{"model": KEY, "context_length": expected_load}]
        assert result.loaded_now is True


def test_skip_routes_to_big_enough_instance(fake_lmstudio: FakeLMStudio) -> None:
    """§5.3 last row / item 168: the first instance with enough context is addressed."""
    fake_lmstudio.set_models(
        [
            llm(
                KEY,
                max_ctx=262144,
                instances=[inst(KEY, 4096), inst("openclaw-long-context", 16384)],
            )
        ]
    )
    result = run(prepare_model, fake_lmstudio.base_url, KEY, requested_context=16384)
    assert result == PreloadResult(KEY, "openclaw-long-context", 16384)
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 0


def test_variant_request_loads_canonical_key_with_exact_request(
    fake_lmstudio: FakeLMStudio,
) -> None:
    """§10 item 37: variant -> canonical key; body and headers exactly as specified."""
    canon = "gemma-4-e4b-it-ultra-uncensored-heretic"
    variant = canon + "@q4_k_m"
    fake_lmstudio.set_models([llm(canon, variants=[None, 42, "", f" {variant} ", variant])])
    result = run(prepare_model, fake_lmstudio.base_url, variant)
    assert result.model_key == canon
    load = fake_lmstudio.requests[-1]
    assert load.path == "/api/v1/models/load"
    assert load.json == {"model": canon, "context_length": 64000}
    assert list(load.json) == ["model", "context_length"]
    assert load.header("content-type") == "application/json"
    assert load.header("authorization") is None


def test_suffixed_key_is_kept(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 38."""
    key = "local/special-model@q4_k_m"
    fake_lmstudio.set_models([llm(key, variants=["local/special-model@q8_0"])])
    assert run(prepare_model, fake_lmstudio.base_url, key).model_key == key
    assert loads(fake_lmstudio) == [{"model": key, "context_length": 64000}]


def test_load_failure_carries_canonical_key(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 39."""
    canon = "gemma-4-e4b"
    fake_lmstudio.set_models([llm(canon, variants=[canon + "@q4_k_m"])])
    fake_lmstudio.override("/api/v1/models/load", 503, "load failed")
    with pytest.raises(LmstudioLoadError) as info:
        run(prepare_model, fake_lmstudio.base_url, canon + "@q4_k_m")
    assert info.value.resolved_model_key == canon
    assert info.value.message == "LM Studio model load failed (503): load failed"


def test_malformed_load_json(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 40."""
    fake_lmstudio.set_models([llm(KEY)])
    fake_lmstudio.override("/api/v1/models/load", 200, "{ nope")
    with pytest.raises(LmstudioLoadError, match=r"^LM Studio model load: malformed JSON response$"):
        run(prepare_model, fake_lmstudio.base_url, KEY)


def test_oversized_success_body_is_cut(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 41: a success body over 16 MiB stops the read with a clear error."""
    fake_lmstudio.set_models([llm(KEY)])
    huge = '{"status":"loaded","pad":"' + "x" * (17 * 1024 * 1024) + '"}'
    fake_lmstudio.override("/api/v1/models/load", 200, huge)
    with pytest.raises(OpenClawError, match=r"JSON response exceeds \d+ bytes|exceed"):
        run(prepare_model, fake_lmstudio.base_url, KEY)


def test_truncated_error_body_has_no_detail(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 42: an error body over 8 KiB is dropped, so no credential can leak."""
    secret = "split-credential-xyz"
    fake_lmstudio.set_models([llm(KEY)])
    fake_lmstudio.override("/api/v1/models/load", 503, "x" * 8190 + secret + "y" * 1000)
    with pytest.raises(LmstudioLoadError) as info:
        run(prepare_model, fake_lmstudio.base_url, KEY, api_key=secret)
    assert info.value.message == "LM Studio model load failed (503)"
    assert secret not in str(info.value)


@pytest.mark.parametrize(
    ("api_key", "headers", "body", "message"),
    [
        (
            "  sk-test  ",
            None,
            "upstream rejected Bearer sk-test; GPU out of memory",
            "LM Studio model load failed (502): upstream rejected ***; GPU out of memory",
        ),
        (
            None,
            {"authorization": "bearer opaque-short"},
            "upstream rejected opaque-short",
            "LM Studio model load failed (502): upstream rejected ***",
        ),
        (
            "abc",
            {"X-Proxy-Auth": "abcdef"},
            "proxy rejected abcdef and abc",
            "LM Studio model load failed (502): proxy rejected *** and ***",
        ),
        (
            "fresh",
            {"Authorization": "Bearer replaced-old"},
            "stale replaced-old; active fresh",
            "LM Studio model load failed (502): stale replaced-old; active ***",
        ),
        (
            "lmstudio-local",
            None,
            "lmstudio-local rejected application/json; GPU out of memory",
            "LM Studio model load failed (502): lmstudio-local rejected application/json; "
            "GPU out of memory",
        ),
        (
            None,
            None,
            "upstream Authorization: Bearer sk-test",
            "LM Studio model load failed (502): upstream Authorization: Bearer ***",
        ),
        (
            None,
            None,
            "upstream proxy error: rejected Bearer sk-reflected-secret-abc123xyz",
            "LM Studio model load failed (502): upstream proxy error: rejected Bearer ***",
        ),
    ],
)
def test_load_error_redaction(fake_lmstudio: FakeLMStudio, api_key, headers, body, message) -> None:
    """§5.4 table / §10 items 44-51; every error also names the canonical key."""
    fake_lmstudio.set_models([llm(KEY)])
    fake_lmstudio.override("/api/v1/models/load", 502, body)
    with pytest.raises(LmstudioLoadError) as info:
        run(prepare_model, fake_lmstudio.base_url, KEY, api_key=api_key, headers=headers)
    assert info.value.message == message
    assert info.value.resolved_model_key == KEY


def test_load_headers_key_overrides_configured_authorization(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 52: padded key trimmed; real key replaces the configured Authorization."""
    fake_lmstudio.set_models([llm(KEY, max_ctx=32768)])
    result = run(
        prepare_model,
        fake_lmstudio.base_url,
        f" {KEY} ",
        api_key="lm-token",
        headers={"X-Proxy-Auth": "required", "Authorization": "Bearer override"},
    )
    assert result.model_key == KEY
    check, load = fake_lmstudio.requests
    assert check.header("authorization") == "Bearer lm-token"
    assert check.header("content-type") is None
    assert load.header("x-proxy-auth") == "required"
    assert load.header("authorization") == "Bearer lm-token"
    assert load.header("content-type") == "application/json"
    assert load.json == {"model": KEY, "context_length": 32768}


def test_discovery_status_fails_preflight(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 53: exactly one call, no load."""
    fake_lmstudio.override("/api/v1/models", 401, {"error": "no"})
    with pytest.raises(LmstudioLoadError, match=r"^LM Studio model discovery failed \(401\)$"):
        run(prepare_model, fake_lmstudio.base_url, KEY)
    assert len(fake_lmstudio.requests) == 1


def test_blank_key_and_unexpected_status(fake_lmstudio: FakeLMStudio) -> None:
    """§5.2 step 1 and step 7 (status other than loaded)."""
    with pytest.raises(LmstudioLoadError, match="LM Studio model key is required"):
        run(prepare_model, fake_lmstudio.base_url, "  ")
    assert fake_lmstudio.requests == []
    fake_lmstudio.set_models([llm(KEY)])
    fake_lmstudio.override("/api/v1/models/load", 200, {"status": "queued"})
    with pytest.raises(LmstudioLoadError, match="unexpected status: queued"):
        run(prepare_model, fake_lmstudio.base_url, KEY)


def test_ttl_is_sent_only_when_configured(fake_lmstudio: FakeLMStudio) -> None:
    """§5.7 / item 192: ttl only for a positive integer ttlSeconds."""
    fake_lmstudio.set_models([llm(KEY)])
    run(prepare_model, fake_lmstudio.base_url, KEY, ttl_seconds=120)
    assert loads(fake_lmstudio)[-1] == {"model": KEY, "context_length": 64000, "ttl": 120}


def test_unreachable_server_fails_fast() -> None:
    """§5.2 step 2: transport failure -> discovery failed, no status."""
    fake = FakeLMStudio().start()
    base = fake.base_url
    fake.stop()
    with pytest.raises(LmstudioLoadError, match="LM Studio model discovery failed: "):
        run(prepare_model, base, KEY)


# ---- ensure_ready: de-dup, back-off, freshness ---------------------------------------------------


async def _ready(fake: FakeLMStudio, requested: int | None = 64000, **kw):
    return await preload.ensure_ready(
        base_url=fake.base_url,
        model_key=KEY,
        requested_context=requested,
        api_key=None,
        headers=None,
        policy=None,
        timeout=10,
        **kw,
    )


def test_concurrent_requests_share_one_load(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 150: two concurrent calls -> one preflight and one load."""
    fake_lmstudio.set_models([llm(KEY, max_ctx=131072)])
    fake_lmstudio.load_delay = 0.3
    results: list = []

    async def main() -> None:
        async def one() -> None:
            results.append(await _ready(fake_lmstudio))

        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            tg.start_soon(one)

    anyio.run(main)
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1
    assert fake_lmstudio.count("GET", "/api/v1/models") == 1
    assert [r.wire_model for r in results] == [KEY, KEY]


def test_backoff_schedule_with_injected_clock() -> None:
    """§10 item 155: calls at t0, +5001, +10001, +15002, +30002, +35003 ms run the loader
    1, 2, 2, 3, 3, 4 times; every call still gets an answer (streams anyway)."""
    clock = Clock()
    preload.set_clock(clock)
    calls: list[float] = []

    async def failing_loader(*_a, **_k):
        calls.append(clock())
        raise LmstudioLoadError("out of memory", resolved_model_key=KEY)

    counts = []
    for offset in (0, 5.001, 10.001, 15.002, 30.002, 35.003):
        clock.t = 1000.0 + offset
        readiness = anyio.run(
            lambda: preload.ensure_ready(
                base_url="http://127.0.0.1:9/v1",
                model_key=KEY,
                requested_context=None,
                api_key=None,
                headers=None,
                policy=None,
                timeout=1,
                loader=failing_loader,
            )
        )
        assert readiness.wire_model == KEY and readiness.warning
        counts.append(len(calls))
    assert counts == [1, 2, 2, 3, 3, 4]


def test_backoff_caps_at_300_seconds() -> None:
    assert preload._backoff_delay(1) == 5
    assert preload._backoff_delay(2) == 10
    assert preload._backoff_delay(7) == 300
    assert preload._backoff_delay(30) == 300


def test_failure_then_success_after_window(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 154: a failed load is retried once the 5 s window passed; success clears it."""
    clock = Clock()
    preload.set_clock(clock)
    fake_lmstudio.set_models([llm(KEY, max_ctx=131072)])
    fake_lmstudio.override("/api/v1/models/load", 500, "boom")
    first = anyio.run(lambda: _ready(fake_lmstudio))
    assert first.warning and "1 consecutive failure" in first.warning
    clock.advance(6)
    second = anyio.run(lambda: _ready(fake_lmstudio))
    assert second.warning is None and second.checked
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 2
    assert preload.state().backoff == {}


def test_required_context_error_is_sticky(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 173/174: instance too small + load 503 -> RequiredContextError for every
    call, also after the window when discovery itself now fails; one load attempt."""
    clock = Clock()
    preload.set_clock(clock)
    fake_lmstudio.set_models(
        [llm("qwen3.5-0.8b", max_ctx=262144, instances=[inst("qwen3.5-0.8b", 4096)])]
    )
    fake_lmstudio.override("/api/v1/models/load", 503, {"error": "load unavailable"})

    async def ready():
        return await preload.ensure_ready(
            base_url=fake_lmstudio.base_url,
            model_key="qwen3.5-0.8b",
            requested_context=16384,
            api_key=None,
            headers=None,
            policy=None,
            timeout=5,
        )

    for step in range(3):
        if step == 2:
            clock.advance(5.001)
            fake_lmstudio.override("/api/v1/models", 500, "down")
        with pytest.raises(RequiredContextError) as info:
            anyio.run(ready)
        msg = info.value.message
        assert 'LM Studio could not load "qwen3.5-0.8b" with 16384 context tokens' in msg
        assert "retry" in (info.value.hint or "")
        assert info.value.error_body == '{"requestedContextLength":16384}'
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1


def test_fresh_cache_skips_checks_for_30_seconds(fake_lmstudio: FakeLMStudio) -> None:
    """Better than the reference: one check per 30 s per (server, model, context)."""
    clock = Clock()
    preload.set_clock(clock)
    fake_lmstudio.set_models([llm(KEY, max_ctx=131072, instances=[inst(KEY, 131072)])])
    first = anyio.run(lambda: _ready(fake_lmstudio))
    assert first.checked
    for _ in range(4):
        clock.advance(5)
        assert anyio.run(lambda: _ready(fake_lmstudio)).checked is False
    assert fake_lmstudio.count("GET", "/api/v1/models") == 1
    clock.advance(11)  # 31 s after the check
    assert anyio.run(lambda: _ready(fake_lmstudio)).checked
    assert fake_lmstudio.count("GET", "/api/v1/models") == 2
    # A different requested context is a different key.
    anyio.run(lambda: _ready(fake_lmstudio, requested=8192))
    assert fake_lmstudio.count("GET", "/api/v1/models") == 3


def test_load_listener_sees_start_and_end(fake_lmstudio: FakeLMStudio) -> None:
    """The spinner hook: called around the load only (no output for library use)."""
    fake_lmstudio.set_models([llm(KEY, max_ctx=8192)])
    seen: list[tuple] = []
    with preload.load_listener(lambda *a: seen.append(a)):
        run(prepare_model, fake_lmstudio.base_url, KEY)
    assert [s[0] for s in seen] == ["start", "end"]
    assert seen[0][1:3] == (KEY, 8192)
    assert isinstance(seen[1][3], float) and not math.isnan(seen[1][3])


def test_redaction_helper_direct() -> None:
    """§5.4 step 1: Content-Type never counts as a secret."""
    text = preload.redact_load_text(
        "application/json tok", {"Content-Type": "application/json", "X": "tok"}
    )
    assert text == "application/json ***"
    assert json.loads(preload.RequiredContextError("m", 5, "x").error_body) == {
        "requestedContextLength": 5
    }
