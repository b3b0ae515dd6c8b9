"""The official SDKs, unchanged, against `chatbench serve --upstream` (the gateway), whose upstream is
fake_openai.py answering "context N items; user said: a | b | …" from the messages it receives.
Usage: gateway_sdk_e2e.py GATEWAY_BASE_URL. Prints "ok NAME", "skip NAME: why" or "FAIL NAME: why"."""
import asyncio
import sys

BASE = sys.argv[1]


def official_sdk():
    try:
        import openai
    except ImportError:
        print("skip official_sdk: the 'openai' Python package is not installed (pip install openai to run it)")
        return None
    client = openai.OpenAI(base_url=BASE, api_key="unused", max_retries=0)
    r1 = client.responses.create(model="llama3", input="My name is Priya.")
    r2 = client.responses.create(model="llama3", input="I'm moving to Lisbon.", previous_response_id=r1.id)
    r3 = client.responses.create(model="llama3", input="Where am I moving?", previous_response_id=r2.id)
    assert r3.output_text == "context 5 items; user said: My name is Priya. | I'm moving to Lisbon. | Where am I moving?", r3.output_text
    assert r3.usage.input_tokens > 0 and r3.usage.input_tokens_details.cached_tokens == 0
    text = ""
    with client.responses.stream(model="llama3", input="And my name?", previous_response_id=r3.id) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                text += event.delta
        final = stream.get_final_response()
    assert "Priya" in text and final.output_text == text, (text, final.output_text)
    assert client.responses.retrieve(r2.id).output_text == r2.output_text
    assert client.responses.input_items.list(r3.id).data[0].content[0].text == "Where am I moving?"
    conv = client.conversations.create(items=[{"type": "message", "role": "user", "content": "I have a cat named Miso."}])
    r4 = client.responses.create(model="llama3", input="What's my cat called?", conversation=conv.id)
    assert "Miso" in r4.output_text, r4.output_text
    assert len(client.conversations.items.list(conv.id).data) == 3
    client.conversations.delete(conv.id)
    client.responses.delete(r2.id)
    try:
        client.responses.create(model="llama3", input="x", previous_response_id=r3.id)
        raise AssertionError("expected BadRequestError after deleting an ancestor")
    except openai.BadRequestError as e:
        assert e.code == "previous_response_not_found", e
    try:
        client.responses.retrieve("resp_unknown")
        raise AssertionError("expected NotFoundError")
    except openai.NotFoundError as e:
        assert e.request_id, "no x-request-id"
    return True


def agents_sdk():
    try:
        from agents import Agent, Runner, set_default_openai_api, set_default_openai_client, set_tracing_disabled
        from openai import AsyncOpenAI
    except ImportError:
        print("skip agents_sdk: the 'openai-agents' Python package is not installed (pip install openai-agents to run it)")
        return None

    async def main():
        set_default_openai_client(AsyncOpenAI(base_url=BASE, api_key="unused", max_retries=0))
        set_default_openai_api("responses")
        set_tracing_disabled(True)
        agent = Agent(name="Assistant", instructions="You are a helpful assistant.", model="llama3")
        first = await Runner.run(agent, "My name is Priya and I'm moving to Lisbon.")
        second = await Runner.run(agent, "Where am I moving?", previous_response_id=first.last_response_id)
        assert "My name is Priya and I'm moving to Lisbon. | Where am I moving?" in second.final_output, second.final_output
        streamed = Runner.run_streamed(agent, "And my name?", previous_response_id=second.last_response_id)
        async for _ in streamed.stream_events():
            pass
        assert "Where am I moving? | And my name?" in streamed.final_output, streamed.final_output

    asyncio.run(main())
    return True


if __name__ == "__main__":
    failures = 0
    for check in [official_sdk, agents_sdk]:
        try:
            if check() is not None:
                print(f"ok {check.__name__}")
        except Exception as e:
            failures += 1
            print(f"FAIL {check.__name__}: {e!r}")
    sys.exit(1 if failures else 0)
