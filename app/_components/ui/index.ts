export { Badge, toneOf, type BadgeTone } from './badge';
export { Button, ButtonLink, type ButtonVariant } from './button';
export { Card, cardClass } from './card';
export { cx } from './cx';
export { Dialog, DialogActions } from './dialog';
export { ErrorText, Field, Hint } from './form';
