/** A CardChannel that records every command a driver sends (benches count and replay them). */
import type { CardChannel, CommandApdu } from "../../daemon/src/pcsc/apdu.ts";

export function recording(channel: CardChannel, commands: CommandApdu[]): CardChannel {
  return {
    readerId: channel.readerId,
    atr: channel.atr,
    insertion: channel.insertion,
    control: (code, data) => channel.control(code, data),
    transmit(command) {
      commands.push(command);
      return channel.transmit(command);
    },
  };
}
