import type { ComponentProps } from 'react';
import { cx } from './cx';
import styles from './card.module.css';

type CardElement = 'div' | 'section' | 'article' | 'p';

/** The class names of a card, for elements that are not one of Card's (a Link that is a card). */
export const cardClass = (
  { empty = false, narrow = false }: { empty?: boolean; narrow?: boolean } = {},
  className?: string,
) => cx(styles.card, empty && styles.empty, narrow && styles.narrow, className);

/**
 * A panel on the page. `empty` centres a placeholder ("No claws yet"); `narrow` is one form alone
 * on the page.
 */
export function Card<T extends CardElement = 'div'>({
  as,
  empty,
  narrow,
  className,
  ...props
}: { as?: T; empty?: boolean; narrow?: boolean } & ComponentProps<T>) {
  const Element: CardElement = as ?? 'div';
  return (
    <Element className={cardClass({ empty, narrow }, className)} {...(props as ComponentProps<'div'>)} />
  );
}
