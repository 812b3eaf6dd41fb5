// TLS session ticket keys shared by every worker and replica that shares the fleet secret, so a
// client resumes its session whichever worker the kernel hands its next connection to.
import { hkdfSync } from 'node:crypto';

/** A new key every 12 hours: a ticket (and the forward secrecy it gives up) lives at most that long. */
export const TICKET_KEY_PERIOD_MS = 12 * 60 * 60 * 1000;

/** The 48 bytes node's `setTicketKeys` takes, for the period that holds `nowMs`. */
export function ticketKeysFor(secret: Uint8Array, nowMs: number): Buffer {
  const period = Math.floor(nowMs / TICKET_KEY_PERIOD_MS);
  return Buffer.from(hkdfSync('sha256', secret, 'waygate tls session tickets', `period ${period}`, 48));
}
