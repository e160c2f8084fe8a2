/** The quiet component logger: no-ops for namespaces that are off, libp2p's own loggers for those turned on. */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { disable, enable } from '@libp2p/logger'
import { quietLogger } from '../../src/node/quiet-logger.ts'

after(() => { disable() })

test('off namespaces (and their scopes) log nothing; an enabled one gets a real logger', () => {
  disable()
  const log = quietLogger().forComponent('ipms-test:quiet')
  assert.equal(log.enabled, false)
  log('nothing %s', 'here')
  log.error('nothing')
  log.trace('nothing')
  const scoped = log.newScope('stream')
  assert.equal(scoped.enabled, false)
  enable('ipms-test:quiet:stream')
  assert.equal(log.newScope('stream').enabled, true, 'a scope is checked when it is made')
  assert.equal(quietLogger().forComponent('ipms-test:other').enabled, false)
})
