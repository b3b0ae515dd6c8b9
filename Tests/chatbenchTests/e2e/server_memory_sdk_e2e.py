"""The official SDKs, unchanged, against `chatbench serve` started with a small context window
(--context-window 4000) and a short prompt-cache retention (--cache-retention 2): server compaction,
/responses/compact, truncation, prompt caching, and the Agents SDK's OpenAIResponsesCompactionSession.
Usage: server_memory_sdk_e2e.py BASE_URL. Prints "ok NAME", "skip NAME: why" or "FAIL NAME: why"."""
import asyncio
import sys
import time

BASE = sys.argv[1]
WORDS = ["river", "stone", "cloud", "paper", "window", "garden", "lamp", "bridge"]


def filler(tokens, seed=0):
    out, i = [], seed
    while len(" ".join(out)) < tokens * 4:
        out.append(WORDS[i % len(WORDS)])
        i += 1
    return " ".join(out)


def official_sdk():
    try:
        import openai
    except ImportError:
        print("skip official_sdk: the 'openai' Python package is not installed (pip install openai to run it)")
        return None
    client = openai.OpenAI(base_url=BASE, api_key="unused", max_retries=0)
    cm = [{"type": "compaction", "compact_threshold": 1000}]

    # Server-side compaction: keep sending only the new message; past the threshold the output
    # carries a compaction item, and the chain still remembers.
    r = client.responses.create(model="gpt-4.1", input="My name is Priya and I live in Lisbon.", context_management=cm)
    compacted = None
    for i in range(20):
        r = client.responses.create(model="gpt-4.1", input=filler(150, i), previous_response_id=r.id, context_management=cm)
        if r.output[0].type == "compaction":
            compacted = r
            break
        assert r.usage.input_tokens <= 1000, r.usage
    assert compacted is not None, "never compacted"
    assert compacted.usage.input_tokens > 1000
    assert compacted.output[0].encrypted_content and "Priya" not in compacted.output[0].encrypted_content
    after = client.responses.create(model="gpt-4.1", input="What's my name and where do I live?", previous_response_id=compacted.id, context_management=cm)
    assert "Priya" in after.output_text and "Lisbon" in after.output_text, after.output_text
    assert after.usage.input_tokens < 400, after.usage

    # The standalone endpoint, and the next create with its output as input.
    a = client.responses.create(model="gpt-4.1", input="I work as a nurse.")
    b = client.responses.create(model="gpt-4.1", input="I have a cat named Miso.", previous_response_id=a.id)
    c = client.responses.compact(model="gpt-4.1", previous_response_id=b.id)
    assert c.object == "response.compaction", c.object
    kinds = [item.type for item in c.output]
    assert kinds == ["message", "message", "compaction"], kinds
    d = client.responses.create(model="gpt-4.1", input=[item.model_dump(exclude_none=True) for item in c.output]
                                + [{"role": "user", "content": "What do I do for a living and what's my cat called?"}])
    assert "nurse" in d.output_text and "Miso" in d.output_text, d.output_text
    tampered = c.output[-1].model_dump(exclude_none=True)
    tampered["encrypted_content"] = tampered["encrypted_content"][:-2] + ("AA" if not tampered["encrypted_content"].endswith("AA") else "BB")
    try:
        client.responses.create(model="gpt-4.1", input=[tampered, {"role": "user", "content": "hi"}])
        raise AssertionError("a changed compaction item was accepted")
    except openai.BadRequestError as e:
        assert e.code == "invalid_encrypted_content", e

    # Truncation past the 4,000-token window: disabled (the default) is a 400, auto drops the oldest.
    t = client.responses.create(model="gpt-4.1", input="My name is Priya.")
    for i in range(7):   # the sixth and seventh do not fit: the oldest items are dropped
        t = client.responses.create(model="gpt-4.1", input=filler(700, i), previous_response_id=t.id, truncation="auto")
        assert t.usage.input_tokens <= 4000, t.usage
    try:
        client.responses.create(model="gpt-4.1", input=filler(700, 9), previous_response_id=t.id)
        raise AssertionError("expected a 400 past the context window")
    except openai.BadRequestError as e:
        assert e.code == "context_length_exceeded", e
    ok = client.responses.create(model="gpt-4.1", input="What's my name?", previous_response_id=t.id, truncation="auto")
    assert ok.usage.input_tokens <= 4000 and "don't know your name" in ok.output_text, (ok.usage, ok.output_text)

    # Prompt caching: a repeated long prefix hits; after the retention (2 s) it does not.
    long = [{"role": "user", "content": filler(1500, 3)}]
    first = client.responses.create(model="gpt-4.1", input=long + [{"role": "user", "content": "one"}])
    second = client.responses.create(model="gpt-4.1", input=long + [{"role": "user", "content": "two"}])
    assert first.usage.input_tokens_details.cached_tokens == 0, first.usage
    hit = second.usage.input_tokens_details.cached_tokens
    assert hit > 0 and hit % 128 == 0 and hit <= second.usage.input_tokens, second.usage
    time.sleep(3)
    third = client.responses.create(model="gpt-4.1", input=long + [{"role": "user", "content": "three"}])
    assert third.usage.input_tokens_details.cached_tokens == 0, third.usage
    return True


def agents_sdk():
    try:
        from agents import Agent, Runner, SQLiteSession, set_default_openai_api, set_default_openai_client, set_tracing_disabled
        from agents.memory import OpenAIResponsesCompactionSession
        from openai import AsyncOpenAI
    except ImportError:
        print("skip agents_sdk: the 'openai-agents' Python package is not installed (pip install openai-agents to run it)")
        return None

    async def main():
        client = AsyncOpenAI(base_url=BASE, api_key="unused", max_retries=0)
        set_default_openai_client(client)
        set_default_openai_api("responses")
        set_tracing_disabled(True)
        agent = Agent(name="Assistant", instructions="Reply briefly.", model="gpt-4.1")
        underlying = SQLiteSession("compaction-e2e")
        # Compact after every turn past the second, so a short run shows it.
        session = OpenAIResponsesCompactionSession("compaction-e2e", underlying, client=client, model="gpt-4.1",
                                                   should_trigger_compaction=lambda ctx: len(ctx["session_items"]) >= 4)
        for text in ["My name is Priya.", "I live in Lisbon.", "I have a cat named Miso."]:
            await Runner.run(agent, text, session=session)
        items = await underlying.get_items()
        kinds = [i.get("type", "message") for i in items]
        assert "compaction" in kinds, kinds
        assert len(items) < 6, f"compaction should have replaced the history: {kinds}"
        result = await Runner.run(agent, "What's my name? Where do I live? What's my cat called?", session=session)
        out = result.final_output
        assert "Priya" in out and "Lisbon" in out and "Miso" in out, out
        return True

    return asyncio.run(main())


failed = False
for name, check in [("official_sdk", official_sdk), ("agents_sdk", agents_sdk)]:
    try:
        if check():
            print("ok " + name)
    except Exception as e:  # noqa: BLE001 - report every failure the same way
        failed = True
        print(f"FAIL {name}: {type(e).__name__}: {e}")
sys.exit(1 if failed else 0)
