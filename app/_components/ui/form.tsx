import type { ComponentProps, ReactNode } from 'react';
import { cx } from './cx';
import styles from './form.module.css';

/** A labelled form control with an optional hint below it. */
export function Field({
  id,
  label,
  hint,
  children,
}: {
  id: string;
  label: string;
  hint?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className={styles.field}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint !== undefined && <p className={styles.hint}>{hint}</p>}
    </div>
  );
}

/** Help text under a control; pass `aria-live` when it changes as the user types. */
export function Hint({ className, ...props }: ComponentProps<'p'>) {
  return <p className={cx(styles.hint, className)} {...props} />;
}

/** A message about something that failed (add `role="alert"` when it appears in answer to an action). */
export function ErrorText({ className, ...props }: ComponentProps<'p'>) {
  return <p className={cx(styles.error, className)} {...props} />;
}
