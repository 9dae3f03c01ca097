import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { CLIENT_ADDRESS_HEADER, clientAddressOf, type AddressSettings } from '../limits/client-address';

/**
 * Security headers on every response the custom server sends (pages, tRPC, health), and the
 * client's address stamped on every request. Set before Next handles the request: Next reads the
 * CSP from the *request* headers to find the nonce and puts it on its own scripts and inline
 * styles (node_modules/next/dist/docs/01-app/02-guides/content-security-policy.md), so one nonce
 * per request serves both.
 */
export interface HeaderSettings extends AddressSettings {
  production: boolean;
  /** The public origin is https: HSTS and upgrade-insecure-requests make sense. */
  https: boolean;
}

export function contentSecurityPolicy(
  nonce: string,
  s: Pick<HeaderSettings, 'production' | 'https'>,
): string {
  return [
    "default-src 'self'",
    // strict-dynamic: scripts Next's nonced scripts load run too; nothing else does. Dev needs
    // eval (React rebuilds server error stacks, webpack's dev chunks).
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${s.production ? '' : " 'unsafe-eval'"}`,
    // Dev injects style elements without a nonce (hot reload); a nonce would disable 'unsafe-inline'.
    s.production ? `style-src 'self' 'nonce-${nonce}'` : "style-src 'self' 'unsafe-inline'",
    // style="" attributes (a bar's width) cannot run code; style elements still need the nonce.
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    // 'self' covers the same host's ws:/wss: (the chat proxy, dev hot reload).
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(s.production && s.https ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

export const STATIC_SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  // Invitation links carry their token in the path: nothing of a URL leaves for another origin.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy':
    'camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), hid=(), browsing-topics=()',
};

export function hardenRequest(req: http.IncomingMessage, res: http.ServerResponse, s: HeaderSettings): void {
  // Whatever the client sent under this name is replaced: only the server says who the client is.
  req.headers[CLIENT_ADDRESS_HEADER] = clientAddressOf(req.headers, req.socket.remoteAddress, s);
  const nonce = randomBytes(16).toString('base64');
  const csp = contentSecurityPolicy(nonce, s);
  req.headers['content-security-policy'] = csp;
  res.setHeader('content-security-policy', csp);
  for (const [k, v] of Object.entries(STATIC_SECURITY_HEADERS)) res.setHeader(k, v);
  if (s.production && s.https)
    res.setHeader('strict-transport-security', 'max-age=31536000; includeSubDomains');
}
