import asyncio
import websockets
import json

async def main():
    uri = "ws://127.0.0.1:8765/trade/ws/"
    headers = {"x-api-key": "YOUR_API_KEY"}
    msg = {
        "id": 1761291309,
        "method": "batchToggleFollowOrder",
        "params": {
            "ids": [
                "m8zl720z0043pp",
                "m81lt5qn043csv",
                "m7cpk8n00043l1"
            ],
            "enabled": True,
            "closePnlOrder": "false"
        }
    }

    async with websockets.connect(uri, additional_headers=headers) as ws:
        await ws.send(json.dumps(msg))

        async def keep_alive():
            while True:
                await ws.ping()
                await asyncio.sleep(30)

        async def listen_for_messages():
            async for message in ws:
                print(message)

        await asyncio.gather(keep_alive(), listen_for_messages())

if __name__ == "__main__":
    asyncio.run(main())
