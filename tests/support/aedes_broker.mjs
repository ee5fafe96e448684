// The aedes broker for the conformance suite: plain MQTT on 127.0.0.1:PORT, in-memory persistence.
// Usage: node aedes_broker.mjs PORT [DENIED_TOPIC_PREFIX]
// A subscription whose topic starts with DENIED_TOPIC_PREFIX is refused (SUBACK 0x80), the way an
// ACL deny looks on aedes. Prints "aedes ready on PORT" once it listens; exits on SIGTERM.
import { createServer } from 'node:net'
import { Aedes } from 'aedes'

const port = Number(process.argv[2])
const denied = process.argv[3] || ''

const aedes = await Aedes.createBroker()
if (denied) {
  aedes.authorizeSubscribe = (client, sub, callback) => {
    callback(null, sub.topic.startsWith(denied) ? null : sub)
  }
}
const server = createServer(aedes.handle)
server.listen(port, '127.0.0.1', () => {
  console.log(`aedes ready on ${port}`)
})
process.on('SIGTERM', () => {
  server.close()
  aedes.close(() => process.exit(0))
})
