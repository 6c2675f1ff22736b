/**
 * Which runtime a route plugin reads: the `runtime` option when the plugin is
 * mounted on its own (tests, the bench), else the app's current one. It is
 * looked up on every call, because `/-/reload` swaps `app.queuescope.runtime`.
 */
import type { FastifyInstance } from 'fastify';

/**
 * The runtime source of the plugin `plugin` on `app`.
 *
 * @param given - the plugin's `runtime` option, if any
 * @returns a function giving the runtime; it throws an Error naming `plugin` when neither
 *   the option nor `app.queuescope` (buildApp) is there.
 */
export function pluginRuntime<R>(app: FastifyInstance, plugin: string, given: (() => R) | undefined): () => R | FastifyInstance['queuescope']['runtime'] {
  return (
    given ??
    (() => {
      if (!app.hasDecorator('queuescope')) throw new Error(`${plugin} needs app.queuescope (buildApp) or a runtime option`);
      return app.queuescope.runtime;
    })
  );
}
