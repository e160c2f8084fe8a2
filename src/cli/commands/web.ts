/**
 * `ipms web`: a login link to the web inbox (README, "The web inbox"), as Jupyter prints one. With
 * a daemon running on the home, it asks it for a fresh one-time link; with none, it runs the
 * daemon in the foreground serving the web inbox (as `ipms daemon --web`) and prints the link.
 */
import type { CliCommand } from '../command.ts'

export const web: CliCommand = {
  command: 'web',
  options: y => y.option('address', { type: 'string', describe: 'When it starts the daemon: serve the web inbox on this loopback host:port (default: config "web", else any free port)' }),
  examples: [
    ['ipms web', 'a login link to open in your browser (starts the daemon if none runs)'],
    ['xdg-open "$(ipms web)"', 'open it at once']
  ],
  run: async (args, context) => {
    const api = await context.daemon()
    if (api !== undefined) {
      const link = await api.post('/web/link', {}, { signal: context.signal }) as { url: string, expires: number }
      context.out.result(link, link.url)
      context.out.info('Open it in your browser: it works once, within 10 minutes.')
      return
    }
    const [{ daemon, webAddress }, config] = await Promise.all([import('./daemon.ts'), context.config()])
    // The daemon's own --listen (libp2p) stays the config's.
    await daemon.run!({ ...args, web: args.address ?? config.web ?? webAddress(undefined) }, context)
  }
}
