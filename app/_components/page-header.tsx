import type { ReactNode } from 'react';
import styles from './page-header.module.css';

/** A page's title, what is under it (a subtitle line, or `meta` such as a status), and its actions. */
export function PageHeader({
  title,
  subtitle,
  meta,
  actions,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  meta?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <div className={styles.header}>
      <div>
        <h1>{title}</h1>
        {subtitle !== undefined && <p className={styles.subtitle}>{subtitle}</p>}
        {meta !== undefined && <div className="row">{meta}</div>}
      </div>
      {actions !== undefined && <div className="row">{actions}</div>}
    </div>
  );
}
