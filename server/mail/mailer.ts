import nodemailer from 'nodemailer';

/**
 * Outgoing e-mail through SMTP_URL (`smtp://user:pass@host:587`, `smtps://…:465`). Without it
 * nothing is sent and the caller shows the link itself. Errors are reported without the URL (it
 * may carry a password).
 */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  readonly configured: boolean;
  send(mail: Mail): Promise<void>;
}

export class MailError extends Error {
  override name = 'MailError';
}

const holder = globalThis as typeof globalThis & { __clawsMailers?: Map<string, Mailer> };

export function mailerFor(cfg: { SMTP_URL?: string; SMTP_FROM: string }): Mailer {
  if (!cfg.SMTP_URL) return { configured: false, send: async () => {} };
  const key = `${cfg.SMTP_URL}\n${cfg.SMTP_FROM}`;
  const mailers = (holder.__clawsMailers ??= new Map());
  let m = mailers.get(key);
  if (!m) {
    const transport = nodemailer.createTransport(cfg.SMTP_URL);
    m = {
      configured: true,
      async send(mail: Mail) {
        try {
          await transport.sendMail({
            from: cfg.SMTP_FROM,
            to: mail.to,
            subject: mail.subject,
            text: mail.text,
          });
        } catch (err) {
          const code = (err as { code?: string }).code;
          throw new MailError(`The invitation e-mail could not be sent${code ? ` (${code})` : ''}`);
        }
      },
    };
    mailers.set(key, m);
  }
  return m;
}

/** The invitation e-mail; plain text, with nothing in it but the names and the link. */
export function invitationMail(input: {
  to: string;
  orgName: string;
  inviterName: string;
  role: string;
  link: string;
  expiresAt: Date;
}): Mail {
  return {
    to: input.to,
    subject: `${input.inviterName} invited you to ${input.orgName} on Claws`,
    text: [
      `${input.inviterName} invited you to join the organization "${input.orgName}" on Claws as ${input.role === 'admin' ? 'an admin' : 'a member'}.`,
      '',
      `Accept or decline: ${input.link}`,
      '',
      `The link works once and expires on ${input.expiresAt.toUTCString()}.`,
      'If you did not expect this, ignore this message: nothing happens unless you accept.',
    ].join('\n'),
  };
}
