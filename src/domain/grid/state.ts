import { assertNever } from '../../core/errors.js';
import type { GridEvent, GridNodeKind, Network } from './events.js';

/** The write-side state of an energy-network element (a node or a link). */
export interface GridState {
  kind: 'grid';
  status: 'unregistered' | 'active' | 'removed';
  element?: 'node' | 'link';
  network?: Network;
  nodeKind?: GridNodeKind;
  failed: boolean;
}

export const initialGridState = (): GridState => ({ kind: 'grid', status: 'unregistered', failed: false });

/** Folds one grid event into the state. */
export function evolveGrid(state: GridState, event: GridEvent): GridState {
  switch (event.type) {
    case 'GridNodeAdded':
      return {
        ...state,
        status: 'active',
        element: 'node',
        network: event.data.network,
        nodeKind: event.data.nodeKind,
      };
    case 'GridLinkAdded':
      return { ...state, status: 'active', element: 'link', network: event.data.network };
    case 'GridElementFailed':
      return { ...state, failed: true };
    case 'GridElementRestored':
      return { ...state, failed: false };
    case 'GridElementRemoved':
      return { ...state, status: 'removed' };
    case 'GridLoadReported':
      return state;
    default:
      return assertNever(event, 'grid event');
  }
}
