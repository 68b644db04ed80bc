/** A heartbeat from serv2 to serv1 (a member of a two-node view that serv2 coordinates), for the membership tests. */
import type { WireMessage } from '@paceline/membership';

export function heartbeat(over: Partial<WireMessage> = {}): WireMessage {
  return {
    v: 1,
    type: 'heartbeat',
    from: 'serv2',
    to: 'serv1',
    link: 'lan',
    boot: 10,
    seq: 1,
    membershipId: 1,
    members: ['serv1', 'serv2'],
    coordinator: 'serv2',
    term: 0,
    peerBoot: 1,
    ...over,
  } as WireMessage;
}
