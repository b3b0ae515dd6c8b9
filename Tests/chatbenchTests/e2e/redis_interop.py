"""The Agents SDK's own RedisSession, driven from the chatbench tests.

usage: redis_interop.py URL SESSION_ID COMMAND [ARG]
  check         exit 0 when `agents` and `redis` import, else print why and exit 3
  add FILE      add_items(the JSON array in FILE)
  get [LIMIT]   print get_items(LIMIT) as one JSON line
  pop           print pop_item() as one JSON line
Extra option: KEY_PREFIX in the environment sets key_prefix.
"""
import asyncio
import json
import os
import sys


def main() -> int:
    url, session_id, command = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        from agents.extensions.memory import RedisSession
    except ImportError as e:
        print(f"skip: the 'openai-agents' and 'redis' Python packages are needed ({e})")
        return 3
    if command == "check":
        print("ok")
        return 0

    async def run() -> None:
        kwargs = {"key_prefix": os.environ["KEY_PREFIX"]} if os.environ.get("KEY_PREFIX") else {}
        session = RedisSession.from_url(session_id, url=url, **kwargs)
        try:
            if command == "add":
                with open(sys.argv[4], encoding="utf-8") as f:
                    await session.add_items(json.load(f))
            elif command == "get":
                limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
                print(json.dumps(await session.get_items(limit)))
            elif command == "pop":
                print(json.dumps(await session.pop_item()))
            else:
                raise SystemExit(f"unknown command {command}")
        finally:
            await session.close()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
