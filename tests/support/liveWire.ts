import * as parser from 'socket.io-parser';
import type { ChangesMessage } from '../../src/realtime/contract.js';
import { liveParser } from '../../src/realtime/wireParser.js';

/** A `changes` message as the server encodes it (`text`) and a console decodes it off the wire (`message`). */
export function overTheWire(message: ChangesMessage): { message: ChangesMessage; text: string } {
  const [text] = new liveParser.Encoder().encode({
    type: parser.PacketType.EVENT,
    nsp: '/live',
    data: ['changes', message],
  } as never) as string[];
  const decoder = new parser.Decoder();
  let decoded: unknown;
  decoder.on('decoded', (packet: { data?: unknown[] }) => {
    decoded = packet.data?.[1];
  });
  decoder.add(text!);
  return { message: decoded as ChangesMessage, text: text! };
}
