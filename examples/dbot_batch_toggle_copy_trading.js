const WebSocket = require('ws')

function main() {
  const ws = new WebSocket('ws://127.0.0.1:8765/trade/ws/', {
    headers: {
      'x-api-key': 'YOUR_API_KEY',
    },
  })

  ws.on('open', () => {
    ws.send(
      JSON.stringify({
        "id": 1761291309,
        "method": "batchToggleFollowOrder",
        "params": {
          "ids": [
            "m8zl720z0043pp",
            "m81lt5qn043csv",
            "m7cpk8n00043l1"
          ],
          "enabled": true,
          "closePnlOrder": "false"
        }
      })
    )

    setInterval(() => {
      ws.ping()
    }, 30000)
  })

  ws.on('message', res => {
    console.log('res:', res.toString('utf-8'));
  })
}

main()
