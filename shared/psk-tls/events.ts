/**
 * What the two listeners report, as typed events. Each names the clause that makes it happen. No event ever
 * carries key material: identities, suites, addresses, reasons and alert names only.
 * `peer` / `remote` is "address:port" of the client.
 */

/** Events of the DTLS 1.2 PSK server (dtls/), passed to DtlsServerOptions.log. */
export type DtlsEvent =
  // ---- datagrams and records before any association (RFC 6347 §4.1.2.7: invalid records are dropped silently)
  /** A datagram's tail did not parse as records; the records before it were kept. */
  | { event: 'dtls_datagram_tail_dropped'; peer: string; reason: string }
  /** A ClientHello that cannot start a handshake: malformed, or fragmented before the cookie (RFC 6347 §4.2.1). */
  | { event: 'dtls_client_hello_dropped'; peer: string; reason: string }
  /** Stateless cookie exchange, RFC 6347 §4.2.1: the HelloVerifyRequest is never larger than the ClientHello. */
  | { event: 'dtls_hello_verify_sent'; peer: string }
  /** A ClientHello with a valid cookie started a handshake; `restart` per RFC 6347 §4.2.8. */
  | { event: 'dtls_handshake_started'; peer: string; restart: boolean }
  // ---- handshake (RFC 6347 §4.2, RFC 5246 §7.4, RFC 4279 §2)
  /** Flight 4 sent: ServerHello (+ ServerKeyExchange with the hint) + ServerHelloDone (RFC 6347 §4.2.4). */
  | { event: 'dtls_flight4_sent'; peer: string; suite: number; ems: boolean; cid: boolean }
  /** A flight sent again: timer or the peer's retransmission (RFC 6347 §4.2.4). */
  | { event: 'dtls_flight_retransmitted'; peer: string; reason: string }
  /** A handshake fragment the reassembler refused (RFC 6347 §4.2.3; bounded memory). */
  | { event: 'dtls_fragment_dropped'; peer: string; reason: string }
  /** ClientKeyExchange arrived: the PSK identity is looked up for the negotiated suite (RFC 4279 §2). */
  | { event: 'dtls_psk_lookup'; peer: string; identity: string; suite: number }
  /** The lookup failed; the client gets unknown_psk_identity (RFC 4279 §2) all the same. */
  | { event: 'dtls_psk_lookup_failed'; peer: string; error: string }
  /** The per-source lookup rate limit refused the lookup; the client gets unknown_psk_identity. */
  | { event: 'dtls_psk_lookup_limited'; peer: string }
  /** The client's Finished verified and ours was sent (RFC 5246 §7.4.9): the association is established. */
  | { event: 'dtls_established'; peer: string; suite: number; ems: boolean; cid: boolean }
  /** The handshake ended with a fatal alert (RFC 5246 §7.2.2). */
  | { event: 'dtls_handshake_failed'; peer: string; alert: string; reason: string }
  /** A message that does not decode (RFC 5246 §7.2.2 decode_error). */
  | { event: 'dtls_decode_error'; peer: string; reason: string }
  // ---- records of an association
  /** A duplicate record, discarded before decryption (RFC 6347 §4.1.2.6). */
  | { event: 'dtls_replay_dropped'; peer: string; epoch: number; seq: number }
  /** A record that did not authenticate or has an unknown content type (RFC 6347 §4.1.2.7). */
  | { event: 'dtls_record_dropped'; peer: string; reason: string; epoch?: number }
  /** RFC 9146 §6: an authenticated CID record with the newest sequence number came from a new address. */
  | { event: 'dtls_peer_moved'; from: string; to: string }
  | { event: 'dtls_alert_received'; peer: string; level: number; alert: string }
  | { event: 'dtls_alert_sent'; peer: string; level: number; alert: string }
  /** The application sent on an association that had already closed. */
  | { event: 'dtls_send_after_close'; peer: string }
  /**
   * The association is gone. Reasons include handshake_timeout, idle_timeout, evicted_half_open and
   * evicted_idle_association (admission budgets), peer_close_notify (RFC 5246 §7.2.1), alert_<name>.
   */
  | { event: 'dtls_closed'; peer: string; reason: string }
  // ---- the server itself
  | { event: 'dtls_send_failed'; peer: string; error: string }
  /** The socket is backed up (limits.maxPendingSendBytes): datagrams are dropped; logged once per backlog. */
  | { event: 'dtls_send_dropped'; peer: string; pendingBytes: number }
  | { event: 'dtls_internal_error'; peer: string; error: string }
  /** An application callback threw; the protocol carried on. */
  | { event: 'dtls_listener_error'; where: string; error: string }
  | { event: 'dtls_error'; error: string };

/** Events of the TLS 1.2 (1.3) PSK listener (tls/), passed to PskTlsServerOptions.log. */
export type TlsEvent =
  /** The client's ClientHello was read (RFC 5246 §7.4.1.2); SNI (RFC 6066 §3) and ALPN (RFC 7301 §3.1) for the log. */
  | { event: 'tls.client-hello'; remote: string; serverName: string | undefined; alpn: string[] }
  /** The identity is looked up before OpenSSL asks for it (RFC 4279 §2; TLS 1.3: RFC 8446 §4.2.11). */
  | { event: 'tls.psk-lookup'; remote: string; pskIdentity: string; tlsVersion: string; cached: boolean }
  /** No lookup: the connection spent its budget, or its source address its rate; the identity gets no key. */
  | {
      event: 'tls.psk-lookup-limited';
      remote: string;
      pskIdentity: string;
      tlsVersion: string;
      reason: 'per-connection' | 'rate-limited';
    }
  /** Handshake finished with a vetted PSK (RFC 5246 §7.4.9). */
  | {
      event: 'tls.secure';
      remote: string;
      pskIdentity: string;
      cipher: string;
      protocol: string;
      alpnProtocol: string | false;
      serverName?: string;
      handshakeMs: number;
    }
  /** Before or after the handshake, the connection failed and was closed. */
  | {
      event: 'tls.handshake-failed' | 'tls.connection-failed';
      remote: string;
      reason: string;
      code?: string;
      detail?: string;
      pskIdentity?: string;
    }
  | { event: 'tls.error'; remote: string; code: string | undefined; reason: string }
  /** More connections than limits.maxConnections: closed at once. */
  | { event: 'tls.connection-dropped'; reason: 'max-connections'; remote: string }
  | { event: 'tls.on-secure-threw'; remote: string; error: string };
