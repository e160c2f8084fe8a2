import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, parseApiListen, parseConfig, parseHttpListen, writeDefaultConfig } from '../../src/home/config.ts'
import { DEFAULT_HOST_POLICY } from '../../src/node/host-policy.ts'
import { ConfigError } from '../../src/errors.ts'

test('a missing config means the defaults; the written default reads back as the defaults', async () => {
  const home = await mkdtemp(join(tmpdir(), 'ipms-config-'))
  try {
    const defaults = await loadConfig(home)
    assert.deepEqual(defaults, { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], bits: 24, dht: true, mdns: false, dhtProtocol: '/ipms/kad/1.0.0', hostPolicy: { ...DEFAULT_HOST_POLICY }, outboxMaxAgeMs: 7 * 86_400_000 })
    await writeDefaultConfig(home, 16)
    assert.deepEqual(await loadConfig(home), { ...defaults, bits: 16 })
    await writeDefaultConfig(home, 20) // never over an existing file
    assert.equal(JSON.parse(await readFile(join(home, 'config.json'), 'utf8')).bits, 16)
    await writeFile(join(home, 'config.json'), 'not json')
    await assert.rejects(loadConfig(home), (err: Error) => err instanceof ConfigError && /not valid JSON/.test(err.message))
  } finally {
    await rm(home, { recursive: true, force: true })
  }
})

test('host policy in the units people write; every wrong field is named', () => {
  const config = parseConfig({ listen: ['/ip4/0.0.0.0/tcp/4100'], hostPolicy: { retentionDays: 7, quotaMiB: 1, deliveriesPerMinute: 10, maxClockSkewMinutes: 5, passQuotaMiB: 0.5, passesQuotaMiB: 2 } })
  assert.deepEqual(config.hostPolicy, { retentionMs: 7 * 86_400_000, quotaBytes: 1024 * 1024, deliveriesPerWindow: 10, rateWindowMs: 60_000, maxClockSkewMs: 300_000, passQuotaBytes: 512 * 1024, passesQuotaBytes: 2 * 1024 * 1024 })
  const bad: Array<[unknown, RegExp]> = [
    [[], /must hold a JSON object/],
    [{ listen: '/ip4/1.2.3.4/tcp/1' }, /"listen" must be a list/],
    [{ bootstrap: ['nope'] }, /"bootstrap" has "nope", which is not a multiaddr/],
    [{ bits: 41 }, /"bits" must be a whole number from 0 to 40/],
    [{ bits: 1.5 }, /"bits"/],
    [{ hostPolicy: { retentionDays: -1 } }, /hostPolicy.retentionDays must be a positive number/],
    [{ hostPolicy: { quota: 1 } }, /unknown hostPolicy field "quota"/],
    [{ extra: 1 }, /unknown field "extra"/],
    [{ mdns: 'yes' }, /"mdns" must be true or false/],
    [{ dhtProtocol: 'kad' }, /"dhtProtocol" must be a protocol id/],
    [{ apiListen: '0.0.0.0:5101' }, /"apiListen" must be "host:port" on loopback/],
    [{ apiListen: '127.0.0.1:65536' }, /"apiListen"/],
    [{ apiListen: '127.0.0.1' }, /"apiListen"/],
    [{ apiListen: 'evil.example:5101' }, /"apiListen"/],
    [{ apiListen: 5101 }, /"apiListen"/]
  ]
  for (const [value, message] of bad) assert.throws(() => parseConfig(value), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(value))
})

test('apiListen: off by default; "host:port" on loopback only', () => {
  assert.equal(parseConfig({}).apiListen, undefined)
  for (const value of ['127.0.0.1:5101', 'localhost:0', '[::1]:65535']) assert.equal(parseConfig({ apiListen: value }).apiListen, value)
  assert.deepEqual(parseApiListen('[::1]:5101'), { host: '::1', port: 5101 })
})

test('outboxMaxAgeDays: how long the outbox retries a mail, in days; anything but a positive number of days is named (issue #14)', () => {
  assert.equal(parseConfig({ outboxMaxAgeDays: 0.5 }).outboxMaxAgeMs, 12 * 60 * 60_000)
  for (const bad of [0, -1, 'seven', 4000, Number.NaN]) {
    assert.throws(() => parseConfig({ outboxMaxAgeDays: bad }), (err: Error) => err instanceof ConfigError && /"outboxMaxAgeDays" must be a positive number of days/.test(err.message))
  }
})

test('http (a host\'s event streams): off by default; "host:port" on any address', () => {
  assert.equal(parseConfig({}).http, undefined)
  for (const value of ['0.0.0.0:8443', '[::]:8443', 'host.example:80', '127.0.0.1:0']) assert.equal(parseConfig({ http: value }).http, value)
  assert.deepEqual(parseHttpListen('[::]:8443'), { host: '::', port: 8443 })
  for (const value of ['0.0.0.0', ':80', '0.0.0.0:65536', 8443, 'a b:80']) assert.throws(() => parseConfig({ http: value }), ConfigError)
})
