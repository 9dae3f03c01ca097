/** A URL-safe slug from a display name: "My First Claw!" → "my-first-claw". Pure. */
export function slugify(name: string, maxLength = 63): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '');
  return slug || 'claw';
}
