/**
 * Writing a mail on a terminal (issue #14), on a real pseudo-terminal (util-linux `script`, its
 * input written by the test): `$EDITOR` opens when no text is given; an empty mail is refused;
 * without an editor the text is typed at a prompt, and Ctrl-C keeps what was typed in a draft file
 * whose path is told, from which `ipms send TO FILE` sends it.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { watch } from 'node:fs'
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initHome, ipms, startHostFor, type Daemon } from '../../examples/ipms-cli.ts'
import { EXIT } from '../../src/cli/exit-codes.ts'
import { waitFor } from '../helpers/wait.ts'
import { onTerminal } from '../helpers/terminal.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'ipms-cli-terminal-compose-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

/** Waits (30 s at most) until a draft file in `dir` holds `text`: woken by each change there. */
async function draftHolds (dir: string, text: string): Promise<void> {
  const watcher = watch(dir)
  try {
    const holds = async (): Promise<boolean> => {
      for (const name of await readdir(dir)) if (await readFile(join(dir, name), 'utf8').catch(() => '') === text) return true
      return false
    }
    await waitFor([[watcher, 'change'], [watcher, 'rename']], holds, AbortSignal.timeout(30_000))
  } finally {
    watcher.close()
  }
}

test('on a terminal: $EDITOR writes the text; an empty mail is refused; typed text survives Ctrl-C as a draft that ipms send sends', async () => {
  const host = await initHome(join(root, 'host'))
  const owner = await initHome(join(root, 'owner'), ['--bits', '8'])
  const daemons: Daemon[] = []
  try {
    const { hostDaemon, card } = await startHostFor(owner, host)
    daemons.push(hostDaemon)
    assert.equal((await ipms(owner.home, ['contacts', 'add', 'me', card])).code, 0)
    const editor = join(root, 'editor.sh')
    await writeFile(editor, '#!/bin/sh\nprintf "written in the editor\\n" >> "$1"\n')
    const emptyEditor = join(root, 'empty-editor.sh')
    await writeFile(emptyEditor, '#!/bin/sh\nexit 0\n')
    const failingEditor = join(root, 'failing-editor.sh')
    await writeFile(failingEditor, '#!/bin/sh\nexit 3\n')
    for (const f of [editor, emptyEditor, failingEditor]) await chmod(f, 0o755)
    const drafts = async (): Promise<string[]> => await readdir(join(owner.home, 'drafts')).catch(() => [])

    // $EDITOR (VISUAL unset): the text comes from the file it wrote; the draft goes once sent.
    const edited = await onTerminal(owner.home, ['send', 'me', '-s', 'Via editor'], { EDITOR: editor, VISUAL: '' }).done
    assert.equal(edited.code, 0, edited.screen)
    assert.match(edited.screen, /Sent to me in/)
    assert.deepEqual(await drafts(), [])
    // Nothing written: an empty mail is not sent. A failing editor: nothing sent, the draft kept.
    const empty = await onTerminal(owner.home, ['send', 'me'], { EDITOR: emptyEditor, VISUAL: '' }).done
    assert.equal(empty.code, EXIT.USAGE, empty.screen)
    assert.match(empty.screen, /An empty mail \(no subject, no text, no attachment\) is not sent/)
    const failed = await onTerminal(owner.home, ['send', 'me', '-s', 'x'], { EDITOR: failingEditor, VISUAL: '' }).done
    assert.equal(failed.code, EXIT.USAGE, failed.screen)
    assert.match(failed.screen, /exited 3: nothing sent\. Your text is kept in \S+drafts\/\S+\.txt: send it with ipms send me/)

    // No editor: a prompt; Ctrl-C after a line keeps it.
    for (const d of await drafts()) await rm(join(owner.home, 'drafts', d))
    const prompt = onTerminal(owner.home, ['send', 'me', '-s', 'Typed'], { EDITOR: '', VISUAL: '' })
    await prompt.until(/Ctrl-D on a line of its own/, 'the prompt')
    prompt.type('typed before Ctrl-C\n')
    // Ctrl-C flushes what the terminal holds unread: typed only once ipms has the line (in its draft).
    await draftHolds(join(owner.home, 'drafts'), 'typed before Ctrl-C\n')
    prompt.type('\x03')
    const interrupted = await prompt.done
    assert.equal(interrupted.code, EXIT.INTERRUPTED, interrupted.screen)
    const path = /Your text is kept in (\S+\.txt): send it with ipms send me \1/.exec(interrupted.screen)?.[1]
    assert.ok(path !== undefined, interrupted.screen)
    assert.equal(await readFile(path, 'utf8'), 'typed before Ctrl-C\n')
    assert.equal((await ipms(owner.home, ['send', 'me', '-s', 'Typed', path])).code, 0)

    assert.equal((await ipms(owner.home, ['sync'])).code, 0)
    const mail = (await ipms(owner.home, ['list', '--json'])).json.mail as Array<{ id: string, subject: string }>
    const bodies = new Map<string, string>()
    for (const m of mail) bodies.set(m.subject, (await ipms(owner.home, ['read', m.id, '--json'])).json.mail.body)
    assert.deepEqual(Object.fromEntries(bodies), { 'Via editor': 'written in the editor\n', Typed: 'typed before Ctrl-C\n' })
  } finally {
    for (const d of daemons) assert.equal(await d.stop(), 0)
  }
})
