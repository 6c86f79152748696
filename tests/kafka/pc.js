// produce_consume_test's kafkajs part: for each TOPIC:CODEC an idempotent
// producer (acks -1) writes N records with keys, headers and timestamps
// compressed with CODEC (none, gzip, snappy through kafkajs-snappy); then one
// kafkajs consumer group reads every TOPIC from the beginning. Writes what
// was sent to DIR/TOPIC.json and what was read to DIR/TOPIC.got.json, in
// pc.py's record format (pc.py compare and check check them).
//
// usage: node pc.js BOOT N DIR TOPIC:CODEC...
// (NODE_PATH: the node_modules make installed kafkajs into)
'use strict'
const fs = require('fs')
const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require('kafkajs')

const [boot, nStr, dir, ...specs] = process.argv.slice(2)
const n = Number(nStr)
const types = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy }
CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy')
let step = 'connecting'

const hex = b => (b === null || b === undefined ? null : Buffer.from(b).toString('hex'))

function records (now) {
  const out = []
  for (let i = 0; i < n; i++) {
    const key = i % 10 === 3 ? null : Buffer.from(`js-key-${i}`)
    const value = Buffer.concat([Buffer.from(`js-value-${i}-` + 'qrst'.repeat(i % 30)), Buffer.from([i % 256, 0])])
    // Header keys that are not array indexes keep their order in an object.
    const headers = i % 5 === 0 ? {} : { idx: String(i), bin: Buffer.from([i % 256, 255]) }
    if (i % 7 === 0) headers.dup = [Buffer.from('a'), Buffer.from('b')]
    out.push({ key, value, headers, timestamp: String(now - 60000 + i) })
  }
  return out
}

function flatHeaders (h) {
  const out = []
  for (const [k, v] of Object.entries(h || {})) {
    for (const x of Array.isArray(v) ? v : [v]) out.push([k, hex(typeof x === 'string' ? Buffer.from(x) : x)])
  }
  return out
}

function rec (m, partition, offset) {
  const id = m.value !== null && m.value !== undefined ? m.value : m.key
  return {
    id: hex(id), key: hex(m.key), value: hex(m.value), headers: flatHeaders(m.headers),
    ts: Number(m.timestamp), partition, offset
  }
}

async function main () {
  const kafka = new Kafka({
    clientId: 'strata-kafka-test', brokers: boot.split(','), logLevel: logLevel.NOTHING,
    connectionTimeout: 5000, requestTimeout: 15000, retry: { retries: 5, initialRetryTime: 200 }
  })
  const topics = []
  let failed = false
  for (const spec of specs) {
    const [topic, codec] = spec.split(':')
    const msgs = records(Date.now())
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    try {
      await producer.connect()
      for (let i = 0; i < n; i += 50) {
        await producer.send({ topic, acks: -1, compression: types[codec], messages: msgs.slice(i, i + 50) })
      }
      fs.writeFileSync(`${dir}/${topic}.json`, JSON.stringify(msgs.map(m => rec(m, null, null))))
      console.log(`ok   kafkajs (idempotent, acks -1, ${codec}): ${n} records sent to ${topic}`)
      topics.push(topic)
    } catch (e) {
      console.log(`FAIL kafkajs producing to ${topic} (${codec}): ${e && e.stack ? e.stack.split('\n').slice(0, 2).join(' | ') : e}`)
      failed = true
    }
    await producer.disconnect().catch(() => {})
  }
  if (!topics.length) process.exit(1)

  step = 'consuming (a consumer group)'
  const got = Object.fromEntries(topics.map(t => [t, []]))
  const consumer = kafka.consumer({
    groupId: `strata-kafka-test-js-${topics[0]}`, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 200
  })
  let crash = null
  consumer.on(consumer.events.CRASH, e => { crash = e.payload.error })
  await consumer.connect()
  await consumer.subscribe({ topics, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => { got[topic].push(rec(message, partition, Number(message.offset))) }
  })
  const count = () => Object.values(got).reduce((a, v) => a + v.length, 0)
  const deadline = Date.now() + 30000
  while (count() < n * topics.length && !crash && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  await new Promise(resolve => setTimeout(resolve, 300)) // duplicates, if any, show in the check
  await consumer.disconnect()
  if (count() < n * topics.length) {
    console.log(`FAIL kafkajs consumer group: read ${count()} of ${n * topics.length} records in 30 s` +
      (crash ? `; it crashed: ${crash.name}: ${crash.message}` : ''))
  }
  for (const t of topics) fs.writeFileSync(`${dir}/${t}.got.json`, JSON.stringify(got[t]))
  if (failed) process.exit(1)
}

main().catch(e => {
  console.log(`FAIL kafkajs ${step}: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`)
  process.exit(1)
})
