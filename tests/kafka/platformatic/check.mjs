// @platformatic/kafka (a client that speaks only flexible versions, KIP-482)
// against a 3-broker cluster's Kafka listeners. Prints one "ok ..." or
// "FAIL ..." line per check; exits 1 when any check failed.
//   node check.mjs BOOTSTRAP[,BOOTSTRAP...] N
// PLT_KAFKA is the installed package's directory (its node_modules/@platformatic/kafka).
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [bootstrapArg, nArg] = process.argv.slice(2)
if (!bootstrapArg || !process.env.PLT_KAFKA) {
  console.error('usage: PLT_KAFKA=DIR node check.mjs BOOTSTRAP[,...] [N]')
  process.exit(2)
}
const kafka = await import(pathToFileURL(join(process.env.PLT_KAFKA, 'dist/index.js')).href)
const { Admin, Producer, Consumer, ProduceAcks, stringSerializers, stringDeserializers } = kafka

const bootstrapBrokers = bootstrapArg.split(',')
const N = Number(nArg ?? 3000)
const PARTS = 3
const BATCH = 100
const run = `${process.pid}-${Date.now()}`
const topic = `plat-${run}`
const groupId = `plat-group-${run}`
let fails = 0
const ok = what => console.log(`ok   ${what}`)
const bad = what => { console.log(`FAIL ${what}`); fails++ }
const check = (cond, what, why) => (cond ? ok(what) : bad(`${what}: ${why}`))
// One line for an error, with the causes the client chains (MultipleErrors).
const describe = e => {
  const parts = [`${e?.code ?? ''} ${e?.message ?? e}`.trim()]
  for (const x of e?.errors ?? []) parts.push(describe(x))
  if (e?.cause) parts.push(`cause: ${describe(e.cause)}`)
  if (e?.response) parts.push(`response: ${JSON.stringify(e.response, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`)
  return parts.join(' | ')
}
// step NAME FN: runs FN, a thrown error is a FAIL line naming NAME; returns FN's value or undefined.
const step = async (name, fn) => {
  try {
    return await fn()
  } catch (e) {
    bad(`${name}: ${describe(e)}`)
    return undefined
  }
}
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
// Gives up on the whole run rather than hanging the test.
const deadline = setTimeout(() => { bad('the run did not finish within 90 s'); process.exit(1) }, 90_000)

// Retries cover a coordinator that is still moving in (NOT_COORDINATOR) just after a cluster starts.
const base = { bootstrapBrokers, retries: 10, retryDelay: 300, timeout: 10_000 }
const admin = new Admin({ ...base, clientId: 'strata-plat-admin' })
let producer, consumer, stream

try {
  // ---- admin: cluster metadata, create / list / describe the topic ----
  const cluster = await step('metadata (cluster)', () => admin.metadata({ topics: [] }))
  if (cluster) {
    const ids = [...cluster.brokers.keys()].sort()
    check(ids.join(',') === '1,2,3', 'metadata: brokers 1,2,3', `brokers ${ids.join(',')}`)
    const addrs = ids.map(id => `${cluster.brokers.get(id).host}:${cluster.brokers.get(id).port}`)
    check(addrs.every(a => bootstrapBrokers.includes(a)), 'metadata: each broker at its Kafka address',
      `${addrs.join(',')} not among ${bootstrapArg}`)
    check(ids.includes(cluster.controllerId), `metadata: controller id ${cluster.controllerId} is a broker`,
      `controller ${cluster.controllerId}`)
  }

  let createdId
  const created = await step('createTopics', () =>
    admin.createTopics({ topics: [topic], partitions: PARTS, replicas: 3 }))
  if (created) {
    const c = created.find(t => t.name === topic)
    check(c && c.partitions === PARTS && c.replicas === 3,
      `createTopics ${topic}: ${PARTS} partitions, replication factor 3`, JSON.stringify(c))
    createdId = c?.id
  }

  const listed = await step('listTopics', () => admin.listTopics())
  if (listed) check(listed.includes(topic), 'listTopics: lists the new topic', `got ${listed.join(',')}`)

  // Leaders and full ISRs may take a moment after creation: retried quietly for 10 s.
  let described
  let lastError
  for (let i = 0; i < 50; i++) {
    try {
      described = await admin.metadata({ topics: [topic], forceUpdate: true })
      lastError = undefined
    } catch (e) {
      lastError = e
    }
    const t = described?.topics.get(topic)
    if (t && t.partitions.length === PARTS && t.partitions.every(p => p.leader > 0 && p.isr.length === 3)) break
    await sleep(200)
  }
  if (lastError) bad(`metadata (topic): ${describe(lastError)}`)
  const tm = described?.topics.get(topic)
  if (tm) {
    check(tm.partitionsCount === PARTS && tm.partitions.length === PARTS, `metadata ${topic}: ${PARTS} partitions`,
      `${tm.partitionsCount} partitions`)
    const shape = tm.partitions.map(p => `leader ${p.leader} replicas [${p.replicas}] isr [${p.isr}]`)
    check(tm.partitions.every(p => [1, 2, 3].includes(p.leader) && p.replicas.length === 3 && p.isr.length === 3),
      `metadata ${topic}: every partition has a leader, 3 replicas, 3 in sync`, shape.join('; '))
    // The consumer fetches by topic id (Fetch v13+): it must be a real one.
    check(/^[0-9a-f-]{36}$/.test(tm.id) && tm.id !== '00000000-0000-0000-0000-000000000000' && tm.id === createdId,
      `metadata ${topic}: topic id ${tm.id}, the one createTopics answered`, `createTopics said ${createdId}`)
  } else {
    bad(`metadata ${topic}: the topic is missing`)
  }

  // ---- producer: idempotent, acks=all, keys and headers ----
  producer = new Producer({
    ...base, clientId: 'strata-plat-producer', idempotent: true, acks: ProduceAcks.ALL,
    serializers: stringSerializers
  })
  const record = i => ({
    topic, partition: i % PARTS, key: `key-${i}`, value: `value-${i}-${'x'.repeat(i % 50)}`,
    headers: { seq: `${i}`, origin: 'platformatic' }
  })
  let acked = 0
  let offsetsRight = true
  const t0 = Date.now()
  for (let from = 0; from < N; from += BATCH) {
    const batch = []
    for (let i = from; i < Math.min(N, from + BATCH); i++) batch.push(record(i))
    const res = await step(`produce records ${from}..${from + batch.length - 1}`, () =>
      producer.send({ messages: batch }))
    if (!res) break
    acked += batch.length
    // Partition p's first record in this batch is record `from + ((p - from) mod 3)`, at offset index / 3.
    for (const o of res.offsets ?? []) {
      const first = from + ((o.partition - from % PARTS + PARTS) % PARTS)
      if (o.topic !== topic || o.offset !== BigInt(Math.floor(first / PARTS))) {
        if (offsetsRight) bad(`produce: batch at ${from} partition ${o.partition} base offset ${o.offset}, want ${Math.floor(first / PARTS)}`)
        offsetsRight = false
      }
    }
    if ((res.offsets ?? []).length !== Math.min(PARTS, batch.length) && offsetsRight) {
      bad(`produce: batch at ${from} answered for ${(res.offsets ?? []).length} partitions`)
      offsetsRight = false
    }
  }
  check(acked === N, `produce: ${N} records acknowledged (idempotent, acks=all, ${Date.now() - t0} ms)`, `${acked} acknowledged`)
  if (offsetsRight && acked === N) ok('produce: every batch\'s base offsets as expected')
  const info = producer.producerId
  if (info !== undefined) check(info >= 0n, `produce: producer id ${info} from InitProducerId`, `producer id ${info}`)

  // ---- consumer in a group: read everything back, commit, check commits ----
  consumer = new Consumer({
    ...base, clientId: 'strata-plat-consumer', groupId, deserializers: stringDeserializers,
    sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000, maxWaitTime: 200
  })
  const ends = await step('listOffsets', () => consumer.listOffsets({ topics: [topic] }))
  if (ends) {
    const e = ends.get(topic) ?? []
    const want = [...Array(PARTS).keys()].map(p => BigInt(Math.floor((N - p + PARTS - 1) / PARTS)))
    check(e.join(',') === want.join(','), `listOffsets: end offsets ${want.join(',')}`, `got ${e.join(',')}`)
  }

  stream = await step('consume (join the group)', () =>
    consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false }))
  const seen = new Map() // record index -> count
  const last = new Map() // partition -> last message
  let wrong = 0
  const wrongLine = what => { if (wrong++ < 5) bad(`consume: ${what}`) }
  if (stream) {
    // Event-based consumption (the README's option 1): done once every record is in.
    let done
    const all = new Promise(resolve => { done = resolve })
    stream.on('error', e => { bad(`consume stream error: ${describe(e)}`); done('error') })
    stream.on('data', m => {
      const i = Number(m.headers.get('seq'))
      const want = record(i)
      if (m.topic !== topic || m.key !== want.key || m.value !== want.value ||
        m.headers.get('origin') !== 'platformatic' || m.headers.size !== 2) {
        wrongLine(`record at ${m.partition}/${m.offset}: key ${m.key} headers ${JSON.stringify([...m.headers])}`)
      } else if (m.partition !== want.partition || m.offset !== BigInt(Math.floor(i / PARTS))) {
        wrongLine(`record ${i} at ${m.partition}/${m.offset}, want ${want.partition}/${Math.floor(i / PARTS)}`)
      }
      const prev = last.get(m.partition)
      if (prev && m.offset !== prev.offset + 1n) wrongLine(`partition ${m.partition}: offset ${m.offset} after ${prev.offset}`)
      last.set(m.partition, m)
      seen.set(i, (seen.get(i) ?? 0) + 1)
      if (seen.size === N) done('done')
    })
    const r = await Promise.race([all, sleep(30_000).then(() => 'timeout')])
    if (r === 'timeout') bad(`consume: ${seen.size} of ${N} records within 30 s`)
    // Records after the last one would be duplicates: give them a moment to show.
    await sleep(300)
    stream.pause()
    const dups = [...seen.values()].filter(c => c > 1).length
    check(seen.size === N && dups === 0 && wrong === 0,
      `consume: all ${N} records back once, with their keys, values, headers, partitions and offsets`,
      `${seen.size} distinct, ${dups} duplicated, ${wrong} wrong`)

    // Commit each partition's next offset (message.commit commits offset + 1).
    await step('commit', async () => {
      for (const m of last.values()) await m.commit()
    })
    const committed = await step('listCommittedOffsets', () =>
      consumer.listCommittedOffsets({ topics: [{ topic, partitions: [...Array(PARTS).keys()] }] }))
    if (committed && ends) {
      const c = committed.get(topic) ?? []
      check(c.join(',') === (ends.get(topic) ?? []).join(','), `committed offsets ${c.join(',')} = end offsets`,
        `end offsets ${(ends.get(topic) ?? []).join(',')}`)
    }
    // Two groups in one call (OffsetFetch v8+ batches them): the other one has committed nothing.
    const groups = await step('admin listConsumerGroupOffsets', () =>
      admin.listConsumerGroupOffsets({ groups: [groupId, `${groupId}-none`] }))
    if (groups && ends) {
      const g = groups.find(x => x.groupId === groupId)
      const parts = (g?.topics.find(t => t.name === topic)?.partitions ?? [])
        .sort((a, b) => a.partitionIndex - b.partitionIndex).map(p => p.committedOffset)
      check(parts.join(',') === (ends.get(topic) ?? []).join(','), 'admin listConsumerGroupOffsets: the same commits',
        `got ${parts.join(',')}`)
      const none = groups.find(x => x.groupId === `${groupId}-none`)
      check(none && none.topics.length === 0, 'admin listConsumerGroupOffsets: a group with no commits has none',
        JSON.stringify(none, (_, v) => (typeof v === 'bigint' ? `${v}` : v)))
    }
    const dg = await step('admin describeGroups', () => admin.describeGroups({ groups: [groupId] }))
    if (dg) {
      const g = dg.get(groupId)
      check(g && g.state === 'STABLE' && g.members.size === 1 && g.protocolType === 'consumer',
        `describeGroups: ${groupId} stable, one member, protocol type consumer`,
        JSON.stringify(g && { state: g.state, members: g.members.size, protocolType: g.protocolType, protocol: g.protocol }))
    }
    const lg = await step('admin listGroups', () => admin.listGroups())
    if (lg) check(lg.has(groupId), 'listGroups: lists the group', `got ${[...lg.keys()].join(',')}`)
  }
} finally {
  await step('close the consumer (leave the group)', async () => {
    if (stream) await stream.close()
    if (consumer) await consumer.close()
  })
  await step('close the producer', async () => { if (producer) await producer.close() })
  const del = await step('deleteTopics', async () => { await admin.deleteTopics({ topics: [topic] }); return true })
  if (del) {
    let gone = false
    for (let i = 0; i < 50 && !gone; i++) {
      const l = await step('listTopics after deleteTopics', () => admin.listTopics())
      gone = l !== undefined && !l.includes(topic)
      if (!gone) await sleep(200)
    }
    check(gone, 'deleteTopics: the topic is gone from listTopics', 'still listed after 10 s')
  }
  await step('admin deleteGroups', () => admin.deleteGroups({ groups: [groupId] }))
  await step('close the admin client', () => admin.close())
  clearTimeout(deadline)
}
console.log(fails === 0 ? 'platformatic check: passed' : `platformatic check: ${fails} failed`)
process.exit(fails === 0 ? 0 : 1)
