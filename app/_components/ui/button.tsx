import Link from 'next/link';
import type { ComponentProps } from 'react';
import { cx } from './cx';
import styles from './button.module.css';

export type ButtonVariant = 'default' | 'primary' | 'danger';

const buttonClass = (variant: ButtonVariant, className?: string) =>
  cx(styles.button, variant !== 'default' && styles[variant], className);

/** A button; `type` defaults to "button", so only an explicit `type="submit"` submits a form. */
export function Button({
  variant = 'default',
  className,
  type = 'button',
  ...props
}: ComponentProps<'button'> & { variant?: ButtonVariant }) {
  return <button type={type} className={buttonClass(variant, className)} {...props} />;
}

/** A link that looks like a button: in-app routes through Next's Link, `external` as a plain anchor. */
export function ButtonLink({
  variant = 'default',
  className,
  external,
  href,
  ...props
}: Omit<ComponentProps<'a'>, 'href'> & { href: string; variant?: ButtonVariant; external?: boolean }) {
  const cls = buttonClass(variant, className);
  return external ? (
    <a href={href} className={cls} {...props} />
  ) : (
    <Link href={href} className={cls} {...props} />
  );
}
