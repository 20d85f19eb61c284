import { assertNever } from '../../core/errors.js';
import type { DecideContext } from '../rules.js';
import { reject, requireCity, requireDistrict } from '../rules.js';
import type { GridEvent } from './events.js';
import type { GridState } from './state.js';

/** Entity ids of other grid elements an event refers to (whose state its rules need). */
export function gridReferences(event: GridEvent): string[] {
  return event.type === 'GridLinkAdded' ? [event.data.fromNode, event.data.toNode] : [];
}

/**
 * Rules for an energy-network element's stream: added once; a link's ends are existing, not removed nodes
 * of the link's network (nodes added earlier in the same batch count); nothing before it is added or
 * after it is removed.
 */
export function decideGrid(proposed: GridEvent, state: GridState, ctx: DecideContext): GridEvent[] {
  requireCity(ctx);
  if (proposed.type === 'GridNodeAdded' || proposed.type === 'GridLinkAdded') {
    if (state.status !== 'unregistered') {
      reject('entityId', ctx.entityId, `is already a ${state.element} of the ${state.network} network`);
    }
  } else if (state.status === 'unregistered') {
    reject('entityId', ctx.entityId, `is not an element of an energy network of ${ctx.city}`);
  } else if (state.status === 'removed') {
    reject('entityId', ctx.entityId, 'is a removed network element');
  }

  switch (proposed.type) {
    case 'GridNodeAdded':
      if (proposed.data.district) requireDistrict(ctx, 'data.district', proposed.data.district);
      return [proposed];
    case 'GridLinkAdded':
      for (const end of ['fromNode', 'toNode'] as const) {
        const nodeId = proposed.data[end];
        const node = ctx.stateOf('grid', nodeId);
        if (node.status === 'unregistered' || node.element !== 'node') {
          reject(`data.${end}`, nodeId, `is not a node of ${ctx.city}`);
        }
        if (node.status === 'removed') reject(`data.${end}`, nodeId, 'is a removed node');
        if (node.network !== proposed.data.network) {
          reject(
            `data.${end}`,
            nodeId,
            `is a node of the ${node.network} network, not ${proposed.data.network}`,
          );
        }
      }
      return [proposed];
    case 'GridLoadReported':
    case 'GridElementFailed':
    case 'GridElementRestored':
    case 'GridElementRemoved':
      return [proposed];
    default:
      return assertNever(proposed, 'grid event');
  }
}
