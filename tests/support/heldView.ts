import { type ClientView, createClientView } from '../../src/realtime/clientView.js';
import type { LayerName, TwinFeature } from '../../src/twin/changes.js';

/** A console's view that holds `features` as of `position` (one initial snapshot), as a connected console would. */
export function viewHolding(
  position: string | bigint,
  features: Array<{ layer: LayerName; feature: TwinFeature }>,
  subscriptionId = 's',
): ClientView {
  const view = createClientView();
  view.applySnapshot({
    subscriptionId,
    position: position.toString(),
    reason: 'initial',
    chunk: 0,
    chunks: 1,
    features,
  });
  return view;
}
