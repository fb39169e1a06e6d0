/**
 * The Telemetry stream: the client opens it with its Settings and the endpoint must answer with
 * Settings, or the official client's startup() never resolves (ROCKETMQ-GRPC.md 3, 4). A refused
 * client (bad signature, forbidden topic, bad group or filter) gets a status-only command, which
 * makes its startup fail with the matching exception, and nothing is registered for it. The
 * stream stays open for server commands (transaction checks) until the client ends it; its end
 * unregisters the client.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { log } from '../common/diagnostics.js';
import { buildSettingsReply, isConsumer, parseClientSettings } from './ClientSettings.js';
import type { TelemetryPeer } from './ClientRegistry.js';
import { wrapNamespace } from './MessageConversion.js';
import { has, rec } from './parse.js';
import { readCallContext, requireTopic, type CallContext } from './RequestContext.js';
import { reportUnexpected, type ServiceContext } from './ServiceContext.js';
import { statusOfError } from './status.js';
import { statusOk, type WireTelemetryCommand } from './wire.js';

async function onSettings(ctx: ServiceContext, call: CallContext, raw: unknown, peer: TelemetryPeer): Promise<WireTelemetryCommand> {
  const settings = parseClientSettings(raw);
  for (const t of settings.topics) requireTopic(call, ctx.acl, wrapNamespace(call.namespace, t.name), 'PUB');
  for (const s of settings.subscriptions) requireTopic(call, ctx.acl, wrapNamespace(call.namespace, s.topic.name), 'SUB');
  const session = await ctx.registry.applySettings(call.clientId, call.namespace, settings, peer);
  if (session.group !== undefined && isConsumer(settings.clientType)) await ctx.settings.refreshGroupPolicies?.();
  const policy = session.group === undefined || !isConsumer(settings.clientType) ? undefined : ctx.settings.groupPolicy(session.group);
  return {
    status: statusOk(),
    settings: buildSettingsReply(settings, {
      maxBodySize: ctx.settings.limits.maxBodySize,
      longPollingTimeoutMs: ctx.settings.longPollingTimeoutMs,
      receiveBatchSize: ctx.settings.receiveBatchSize,
      fifo: policy?.fifo ?? false,
      maxDeliveryAttempts: policy?.maxDeliveryAttempts ?? 1,
    }),
  };
}

export function telemetry(ctx: ServiceContext): (stream: ServerDuplexStream<unknown, WireTelemetryCommand>) => void {
  return (stream) => {
    let closed = false;
    const peer: TelemetryPeer = {
      write: (command) => {
        if (!closed && !stream.cancelled) stream.write(command);
      },
      end: () => {
        if (closed) return;
        closed = true;
        stream.end();
      },
    };
    let call: CallContext;
    try {
      call = readCallContext(stream.metadata, ctx.acl, ctx.settings.maxMetadataBytes);
    } catch (err) {
      // Refused: the status fails the client's startup. The stream is left for the client to
      // close, since a stream the server ends is reopened by the client a second later.
      peer.write({ status: statusOfError(err) });
      stream.on('end', peer.end);
      stream.on('cancelled', peer.end);
      stream.on('error', peer.end);
      stream.resume();
      return;
    }
    // Commands of one stream are handled one after the other.
    let queue: Promise<void> = Promise.resolve();
    stream.on('data', (raw: unknown) => {
      queue = queue.then(async () => {
        if (closed) return;
        try {
          const command = rec(raw, 'command');
          if (has(command, 'settings')) peer.write(await onSettings(ctx, call, command['settings'], peer));
        } catch (err) {
          reportUnexpected('Telemetry', err);
          peer.write({ status: statusOfError(err) });
        }
      });
    });
    const gone = (): void => {
      ctx.registry.streamClosed(call.clientId, peer);
      peer.end();
    };
    stream.on('end', gone);
    stream.on('cancelled', gone);
    stream.on('error', (err: Error) => {
      log('debug', 'grpc: telemetry stream error', { clientId: call.clientId, error: err.message });
      gone();
    });
  };
}
